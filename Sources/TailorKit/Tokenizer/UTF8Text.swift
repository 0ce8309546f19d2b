/// UTF-8 validation helpers for decoding token bytes, which need not split at character boundaries.
enum UTF8Text {
    /// Length of the sequence a lead byte starts (1...4), or 0 for a continuation or invalid byte
    /// (C0, C1, F5...FF never start a well-formed sequence; Unicode 15 §3.9 table 3-7).
    @inline(__always)
    static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }

    /// Whether `byte` may stand at `index` (1...3) of a sequence led by `lead`. The second byte's range
    /// depends on the lead (no overlongs, no surrogates, nothing past U+10FFFF); later bytes are 80...BF.
    @inline(__always)
    static func isValid(_ byte: UInt8, at index: Int, lead: UInt8) -> Bool {
        guard index == 1 else { return byte & 0xC0 == 0x80 }
        switch lead {
        case 0xE0: return (0xA0...0xBF).contains(byte)
        case 0xED: return (0x80...0x9F).contains(byte)
        case 0xF0: return (0x90...0xBF).contains(byte)
        case 0xF4: return (0x80...0x8F).contains(byte)
        default: return byte & 0xC0 == 0x80
        }
    }

    /// How many trailing bytes (0...3) are a well-formed but unfinished sequence: bytes that a later token
    /// may complete, so a streaming decoder holds them back.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        guard count > 0 else { return 0 }
        for back in 1...min(3, count) {
            let lead = bytes[count - back]
            if lead & 0xC0 == 0x80 { continue }
            guard sequenceLength(lead: lead) > back else { return 0 }
            for index in 1..<back where !isValid(bytes[count - back + index], at: index, lead: lead) {
                return 0
            }
            return back
        }
        return 0
    }

    /// Decodes with one U+FFFD per byte that is not part of a complete, well-formed sequence. This is what
    /// SentencePiece's decoder does with byte-fallback tokens (`<0xF0><0x9F><0xA6>` gives three U+FFFD).
    static func decodeReplacingEachInvalidByte(_ bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        var i = 0
        let count = bytes.count
        while i < count {
            let lead = bytes[i]
            let length = sequenceLength(lead: lead)
            if length == 1 {
                scalars.append(Unicode.Scalar(lead))
                i += 1
                continue
            }
            var valid = length > 1 && i + length <= count
            if valid {
                for index in 1..<length where !isValid(bytes[i + index], at: index, lead: lead) {
                    valid = false
                    break
                }
            }
            guard valid else {
                scalars.append("\u{FFFD}")
                i += 1
                continue
            }
            var value = UInt32(lead) & (0xFF >> UInt32(length + 1))
            for index in 1..<length {
                value = value << 6 | UInt32(bytes[i + index] & 0x3F)
            }
            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            i += length
        }
        return String(scalars)
    }

    /// Decodes replacing each maximal ill-formed subpart with one U+FFFD (Unicode §3.9 "U+FFFD substitution
    /// of maximal subparts"), as Rust's `String::from_utf8_lossy` in the `tokenizers` ByteLevel decoder does.
    static func decodeReplacingMaximalSubparts(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
