/// The classes the pre-tokenizer regexes distinguish: `\p{L}`, `\p{N}`, `\s`, and everything else.
///
/// `\p{L}` is general category Lu/Ll/Lt/Lm/Lo, `\p{N}` is Nd/Nl/No (also Rust's `char::is_numeric`, which the
/// Hugging Face `Digits` pre-tokenizer uses), and `\s` is the Unicode White_Space property, which is what
/// Oniguruma (the `tokenizers` regex engine) matches for `\s` in UTF-8 text: U+0009..000D, U+0085 and Z*.
/// Marks (M*) are "other": `नमस्ते` splits at its vowel signs, as it does in `tokenizers`.
enum ScalarClass: UInt8, Sendable {
    case letter
    case number
    case whitespace
    case other

    init(_ value: UInt32) {
        if value < 0x80 {
            self = ScalarClass.ascii[Int(value)]
            return
        }
        guard let scalar = Unicode.Scalar(value) else {
            self = .other
            return
        }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = properties.isWhitespace ? .whitespace : .other
        }
    }

    private static let ascii: [ScalarClass] = (0..<128).map { value -> ScalarClass in
        switch value {
        case 0x30...0x39: .number
        case 0x41...0x5A, 0x61...0x7A: .letter
        case 0x09...0x0D, 0x20: .whitespace
        default: .other
        }
    }
}
