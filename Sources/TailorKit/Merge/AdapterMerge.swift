import CKernels
import Foundation

/// Folds a LoRA adapter into its base model (SPEC.md §2): `W = dequant(W0) + s · B A` for every adapted
/// projection, written as a new GGUF that any llama.cpp-based tool runs without the adapter.
///
/// The merge is into the dequantized weights the adapter trained against (the GGUF's own blocks), never
/// another copy of the base; B's rows are in the GGUF's (RoPE-permuted) order, as Tailor trains them.
/// Adapted tensors are written in `type` (F32, F16, BF16 keep what the adapter learned up to rounding;
/// Q8_0, Q4_0, Q4_1 requantize it); every other tensor is copied as stored, byte for byte. The file is
/// streamed a tile of rows at a time: memory stays at a few MiB whatever the model's size.
public enum MergeError: Error, LocalizedError, Equatable {
    case unsupportedType(path: String, type: String)
    case missingTensor(base: String, tensor: String)
    case notWholeBlocks(tensor: String, columns: Int, type: String, block: Int)
    case nonFinite(adapter: String, tensor: String, rows: Range<Int>)

    public var errorDescription: String? {
        switch self {
        case let .unsupportedType(path, type):
            "\(path): cannot write merged weights as \(type); expected one of \(GGMLQuantizer.writableTypes.map(\.name).joined(separator: ", "))"
        case let .missingTensor(base, tensor): "\(base): no tensor \(tensor) for the adapter to merge into (another base model?)"
        case let .notWholeBlocks(tensor, columns, type, block):
            "\(tensor): rows of \(columns) values are not whole \(type) blocks of \(block); choose another --quant"
        case let .nonFinite(adapter, tensor, rows):
            "\(adapter): the adapter's update of \(tensor) rows \(rows.lowerBound)..<\(rows.upperBound) is not finite (NaN or inf in lora_A/lora_B); nothing was written"
        }
    }
}

public enum AdapterMerge {
    public struct Report: Sendable, Codable, Equatable {
        /// Tensors with an adapter folded in, and tensors copied as they were.
        public var mergedTensors: Int
        public var copiedTensors: Int
        /// The type merged tensors were written in.
        public var type: String
        /// The merged file's size.
        public var bytes: Int
        /// Largest |s (B A)_ij| over every merged weight: how far the adapter moves a single weight.
        public var largestDelta: Float
    }

    /// llama.cpp's `general.file_type` (llama_ftype) for a model whose weights are mostly `type`.
    static func fileType(_ type: GGMLType) -> UInt32? {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .bf16: 32
        default: nil
        }
    }

    /// Writes `base` with `adapter` folded in to `url` (atomically); adapted tensors in `type`.
    /// `metadata` is added to the base's (for provenance: which adapter, which type).
    /// `adapterPath` names the adapter in errors.
    public static func write(
        base: LlamaWeights, adapter: LoRAAdapter, adapterPath: String, type: GGMLType, to url: URL,
        metadata: [String: GGUFValue] = [:]
    ) throws -> Report {
        guard GGMLQuantizer.writableTypes.contains(type) else { throw MergeError.unsupportedType(path: url.path, type: type.name) }
        let file = base.file
        let scale = adapter.scale
        var byName: [String: AdapterWeights] = [:]
        for w in adapter.weights { byName["blk.\(w.layer).\(w.target.ggufName).weight"] = w }
        for name in byName.keys.sorted() where file.tensor(name) == nil { throw MergeError.missingTensor(base: file.path, tensor: name) }
        var writer = GGUFWriter()
        for key in file.metadataKeys {
            if let v = file.metadata[key] { writer.set(key, v) }
        }
        var merged = 0, copied = 0
        var typeElements: [GGMLType: Int] = [:]
        let largest = LargestDelta()
        for t in file.tensors {
            let data = file.data(of: t)
            guard let w = byName[t.name] else {
                copied += 1
                if t.shape.count == 2 { typeElements[t.type, default: 0] += t.elementCount }
                writer.add(t.name, type: t.type, shape: t.shape, byteCount: t.byteCount) { put in
                    try put(UnsafeRawBufferPointer(start: data, count: t.byteCount))
                }
                continue
            }
            merged += 1
            typeElements[type, default: 0] += t.elementCount
            let rows = t.rows, cols = t.columns
            guard cols % type.blockElements == 0 else {
                throw MergeError.notWholeBlocks(tensor: t.name, columns: cols, type: type.name, block: type.blockElements)
            }
            let source = FrozenLinear(name: t.name, type: t.type, outFeatures: rows, inFeatures: cols, weights: data)
            writer.add(t.name, type: type, shape: t.shape, byteCount: rows * type.rowBytes(cols)) { put in
                try foldRows(of: source, adapter: w, adapterPath: adapterPath, scale: scale, type: type, largest: largest, into: put)
            }
        }
        if let (majority, _) = typeElements.max(by: { $0.value < $1.value }), let ft = fileType(majority) {
            writer.set("general.file_type", .uint32(ft))
        }
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { writer.set(k, v) }
        try writer.write(to: url)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        return Report(mergedTensors: merged, copiedTensors: copied, type: type.name, bytes: size, largestDelta: largest.value)
    }

    /// The running maximum of |s B A| across tensors (filled while the file streams).
    final class LargestDelta: @unchecked Sendable {
        var value: Float = 0
    }

    // For a tile of rows [r0, r1) of W0 [out, in]:
    //   W[r0..<r1, :] = dequant(W0[r0..<r1, :]) + s · B[r0..<r1, :] A     (B [out, r], A [r, in])
    // then each row quantized to `type`. The delta is formed alone first (beta 0) to measure it and to
    // check it is finite, then added: a NaN or inf in an adapter is an error, never a broken model.
    static func foldRows(
        of w0: FrozenLinear, adapter w: AdapterWeights, adapterPath: String, scale: Float, type: GGMLType, largest: LargestDelta,
        into put: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let cols = w0.inFeatures, rows = w0.outFeatures, r = w.rank
        let tileRows = max(1, min(rows, (1 << 18) / cols))
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * cols)
        let delta = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * cols)
        let rowBytes = type.rowBytes(cols)
        let out = UnsafeMutableRawPointer.allocate(byteCount: tileRows * rowBytes, alignment: 64)
        defer {
            tile.deallocate()
            delta.deallocate()
            out.deallocate()
        }
        try w.a.withUnsafeBufferPointer { a in
            try w.b.withUnsafeBufferPointer { b in
                guard let ap = a.baseAddress, let bp = b.baseAddress else { return }
                var r0 = 0
                while r0 < rows {
                    let n = min(tileRows, rows - r0)
                    w0.dequantize(rows: r0, r0 + n, into: tile)
                    sgemm(m: n, n: cols, k: r, bp + r0 * r, lda: r, ap, ldb: cols, delta, ldc: cols, alpha: scale)
                    var m: Float = 0
                    var nan = false
                    for i in 0..<n * cols {
                        let v = abs(delta[i])
                        if v > m { m = v } else if v.isNaN { nan = true }
                        tile[i] += delta[i]
                    }
                    guard m.isFinite, !nan else { throw MergeError.nonFinite(adapter: adapterPath, tensor: w0.name, rows: r0..<(r0 + n)) }
                    largest.value = max(largest.value, m)
                    let parts = min(Threads.count, n)
                    parallelFor(parts) { p in
                        for row in splitRange(n, parts: parts, index: p) {
                            GGMLQuantizer.quantize(tile + row * cols, count: cols, type: type, into: out + row * rowBytes)
                        }
                    }
                    try put(UnsafeRawBufferPointer(start: out, count: n * rowBytes))
                    r0 += n
                }
            }
        }
    }
}
