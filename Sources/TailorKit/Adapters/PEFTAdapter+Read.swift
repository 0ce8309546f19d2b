import Foundation

/// Errors loading an adapter directory; each names the file and what did not fit.
public enum AdapterError: Error, LocalizedError, Equatable {
    case cannotRead(path: String, reason: String)
    case badConfig(path: String, key: String, expected: String)
    case keys(path: String, missing: [String], unexpected: [String])
    case badShape(path: String, tensor: String, expected: [Int], found: [Int])

    public var errorDescription: String? {
        switch self {
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .badConfig(path, key, expected): "\(path): '\(key)' must be \(expected)"
        case let .keys(path, missing, unexpected):
            "\(path): adapter keys do not fit the base model"
                + (missing.isEmpty ? "" : "; missing: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " (+\(missing.count - 5) more)" : "")")
                + (unexpected.isEmpty ? "" : "; unexpected: \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? " (+\(unexpected.count - 5) more)" : "")")
        case let .badShape(path, tensor, expected, found): "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        }
    }
}

/// One adapted projection, ready for inference: A [r, in], B [out, r] in the GGUF row order Tailor computes in.
public struct AdapterWeights: Sendable {
    public let layer: Int
    public let target: LoRATarget
    public let rank: Int
    public let scale: Float
    public let a: [Float]
    public let b: [Float]
}

extension PEFTAdapter {
    /// Reads a PEFT LoRA adapter directory for `config`'s base model. A missing or extra key, a rank or a
    /// shape that does not fit is an error listing them, never a silent no-op.
    public static func read(directory dir: URL, config: ModelConfig) throws -> [AdapterWeights] {
        let cfgURL = dir.appendingPathComponent("adapter_config.json")
        guard let data = FileManager.default.contents(atPath: cfgURL.path) else {
            throw AdapterError.cannotRead(path: cfgURL.path, reason: "no such file (expected a PEFT adapter directory)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AdapterError.badConfig(path: cfgURL.path, key: "(root)", expected: "a JSON object")
        }
        guard (json["peft_type"] as? String) == "LORA" else { throw AdapterError.badConfig(path: cfgURL.path, key: "peft_type", expected: "\"LORA\"") }
        guard let r = json["r"] as? Int, r > 0 else { throw AdapterError.badConfig(path: cfgURL.path, key: "r", expected: "a positive integer") }
        guard let alpha = (json["lora_alpha"] as? NSNumber)?.doubleValue else { throw AdapterError.badConfig(path: cfgURL.path, key: "lora_alpha", expected: "a number") }
        guard let modules = json["target_modules"] as? [String] else { throw AdapterError.badConfig(path: cfgURL.path, key: "target_modules", expected: "a list of module names") }
        var targets: [LoRATarget] = []
        for m in modules {
            guard let t = LoRATarget(rawValue: m) else {
                throw AdapterError.badConfig(path: cfgURL.path, key: "target_modules", expected: "names from \(LoRATarget.allCases.map(\.rawValue)), found '\(m)'")
            }
            targets.append(t)
        }
        let rslora = json["use_rslora"] as? Bool ?? false
        if json["use_dora"] as? Bool == true { throw AdapterError.badConfig(path: cfgURL.path, key: "use_dora", expected: "false (DoRA is not supported)") }
        let layers = (json["layers_to_transform"] as? [Int]) ?? Array(0..<config.layerCount)
        let scale = Float(rslora ? alpha / Double(r).squareRoot() : alpha / Double(r))
        let stURL = dir.appendingPathComponent("adapter_model.safetensors")
        let st: SafetensorsFile
        do { st = try SafetensorsFile(url: stURL) } catch let e as SafetensorsError { throw e } catch {
            throw AdapterError.cannotRead(path: stURL.path, reason: error.localizedDescription)
        }
        var expected: [String] = []
        for l in layers { for t in targets { expected += [key(layer: l, target: t, matrix: "A"), key(layer: l, target: t, matrix: "B")] } }
        let present = Set(st.names)
        let missing = expected.filter { !present.contains($0) }
        let unexpected = present.subtracting(expected).sorted()
        guard missing.isEmpty && unexpected.isEmpty else { throw AdapterError.keys(path: stURL.path, missing: missing, unexpected: unexpected) }
        func dims(_ t: LoRATarget) -> (Int, Int) {
            switch t {
            case .qProj: (config.hiddenSize, config.qDim)
            case .kProj, .vProj: (config.hiddenSize, config.kvDim)
            case .oProj: (config.qDim, config.hiddenSize)
            case .gateProj, .upProj: (config.hiddenSize, config.intermediateSize)
            case .downProj: (config.intermediateSize, config.hiddenSize)
            }
        }
        var out: [AdapterWeights] = []
        for l in layers {
            guard l >= 0 && l < config.layerCount else { throw AdapterError.badConfig(path: cfgURL.path, key: "layers_to_transform", expected: "indices below \(config.layerCount)") }
            for t in targets.sorted() {
                let (inF, outF) = dims(t)
                let ka = key(layer: l, target: t, matrix: "A"), kb = key(layer: l, target: t, matrix: "B")
                let ea = try st.entry(ka), eb = try st.entry(kb)
                guard ea.shape == [r, inF] else { throw AdapterError.badShape(path: stURL.path, tensor: ka, expected: [r, inF], found: ea.shape) }
                guard eb.shape == [outF, r] else { throw AdapterError.badShape(path: stURL.path, tensor: kb, expected: [outF, r], found: eb.shape) }
                let bHF = try st.floats(kb)
                var b = bHF
                if permutesRows(t, config: config) {
                    for row in 0..<outF {
                        let src = hfRow(ofGGUFRow: row, headDim: config.headDim)
                        for j in 0..<r { b[row * r + j] = bHF[src * r + j] }
                    }
                }
                out.append(AdapterWeights(layer: l, target: t, rank: r, scale: scale, a: try st.floats(ka), b: b))
            }
        }
        return out
    }
}
