import Foundation

/// Errors reading a GGUF file (SPEC.md §5). Each names the file, the byte offset and what was expected.
public enum GGUFError: Error, LocalizedError, Equatable {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String, found: UInt32)
    case unsupportedVersion(path: String, found: UInt32)
    case truncated(path: String, offset: UInt64, need: UInt64, have: UInt64)
    case tooLarge(path: String, offset: UInt64, what: String, count: UInt64, limit: UInt64)
    case badValueType(path: String, offset: UInt64, key: String, found: UInt32)
    case badUTF8(path: String, offset: UInt64)
    case badTensor(path: String, tensor: String, reason: String)
    case unsupportedType(path: String, tensor: String, type: String)
    case missingKey(path: String, key: String, expected: String)
    case wrongKeyType(path: String, key: String, expected: String, found: String)
    case missingTensor(path: String, tensor: String)
    case badShape(path: String, tensor: String, expected: [Int], found: [Int])

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason):
            "\(path): cannot open: \(reason)"
        case let .badMagic(path, found):
            "\(path): magic 0x\(String(found, radix: 16)) at byte 0, expected 0x46554747 (\"GGUF\"); not a GGUF file"
        case let .unsupportedVersion(path, found):
            "\(path): GGUF version \(found) at byte 4, expected 2 or 3"
        case let .truncated(path, offset, need, have):
            "\(path): at byte \(offset) need \(need) bytes, \(have) left (truncated download?)"
        case let .tooLarge(path, offset, what, count, limit):
            "\(path): at byte \(offset) \(what) is \(count), more than \(limit) (corrupt header?)"
        case let .badValueType(path, offset, key, found):
            "\(path): at byte \(offset) metadata '\(key)' has value type \(found), expected 0...12"
        case let .badUTF8(path, offset):
            "\(path): string at byte \(offset) is not valid UTF-8"
        case let .badTensor(path, tensor, reason):
            "\(path): tensor '\(tensor)': \(reason)"
        case let .unsupportedType(path, tensor, type):
            "\(path): tensor '\(tensor)' has type \(type); Tailor supports F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K"
        case let .missingKey(path, key, expected):
            "\(path): metadata key '\(key)' is missing, expected \(expected)"
        case let .wrongKeyType(path, key, expected, found):
            "\(path): metadata key '\(key)' is \(found), expected \(expected)"
        case let .missingTensor(path, tensor):
            "\(path): tensor '\(tensor)' is missing"
        case let .badShape(path, tensor, expected, found):
            "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        }
    }
}
