/// Decodes generated tokens one at a time. A character whose UTF-8 bytes are split across tokens (an emoji
/// as byte tokens) is held back until its last byte arrives, so nothing is emitted early as U+FFFD; bytes
/// that can never complete a character are emitted as U+FFFD at once.
///
/// The concatenation of everything `append` and `flush` return equals `tokenizer.decode(ids)`.
public struct StreamingDecoder: Sendable {
    public let tokenizer: Tokenizer
    public let skipSpecial: Bool
    private var pending: [UInt8] = []
    private var atStart = true

    public init(tokenizer: Tokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// The text completed by `id`; empty while a character is still incomplete.
    public mutating func append(_ id: Int32) -> String {
        tokenizer.appendBytes(of: id, skipSpecial: skipSpecial, atStart: &atStart, to: &pending)
        let held = UTF8Text.incompleteSuffixLength(pending)
        guard pending.count > held else { return "" }
        let ready = Array(pending[..<(pending.count - held)])
        pending.removeFirst(pending.count - held)
        return tokenizer.text(of: ready)
    }

    /// Whatever is still held back, with U+FFFD for the unfinished character.
    public mutating func flush() -> String {
        let text = tokenizer.text(of: pending)
        pending.removeAll()
        return text
    }
}
