/// GPT-2's printable spelling of bytes (openai/gpt-2 `encoder.py` `bytes_to_unicode`): bytes `!`...`~`,
/// `¡`...`¬` and `®`...`ÿ` stand for themselves; the other 68 (controls, space, DEL, NBSP, soft hyphen)
/// become U+0100 + n in byte order, so space is `Ġ` (U+0120) and newline `Ċ` (U+010A).
/// Byte-level vocabularies spell every token this way.
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` spells byte `b`.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// `byteForScalar[u]` is the byte `u` spells, or -1; indexed by scalar value 0...323.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    /// The bytes a byte-level token spells. Characters outside the alphabet (a mislabeled added token)
    /// stand for their own UTF-8.
    static func bytes(spelledBy piece: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(piece.utf8.count)
        for scalar in piece.unicodeScalars {
            let value = Int(scalar.value)
            if value < byteForScalar.count, byteForScalar[value] >= 0 {
                bytes.append(UInt8(byteForScalar[value]))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// The alphabet spelling of `bytes`.
    static func spelling<C: Collection>(of bytes: C) -> String where C.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if let scalar = Unicode.Scalar(scalarForByte[Int(byte)]) { scalars.append(scalar) }
        }
        return String(scalars)
    }
}
