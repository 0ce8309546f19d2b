import Foundation

/// The element type adapter weights are exported in. F32 keeps them exact; F16 halves the file and
/// rounds each value to 11 significant bits (both are what llama.cpp's `convert_lora_to_gguf.py --outtype`
/// and mlx-lm accept).
public enum AdapterFloatType: String, Sendable, CaseIterable {
    case f32, f16

    /// Little-endian bytes of `values` in this type.
    func bytes(_ values: [Float]) -> [UInt8] {
        var out = [UInt8]()
        switch self {
        case .f32:
            out.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .f16:
            out.reserveCapacity(values.count * 2)
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    var safetensorsDType: SafetensorsDType { self == .f32 ? .f32 : .f16 }
    var ggmlType: GGMLType { self == .f32 ? .f32 : .f16 }
}
