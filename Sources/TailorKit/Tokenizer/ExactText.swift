/// A dictionary key that compares text byte for byte.
///
/// Swift's `String` equality and hashing follow canonical equivalence, so as a key `"e\u{301}"` finds `"é"`
/// and `"K"` (U+212A KELVIN SIGN) finds `"K"`: a vocabulary lookup would return another token's id and the
/// word cache would share ids between different byte strings. Tokenizers compare bytes, so keys do too.
/// Wrapping `String` (rather than `[UInt8]`) keeps short pieces in the small-string form, with no allocation.
struct ExactText: Hashable, Sendable {
    let value: String

    init(_ value: String) { self.value = value }

    init<C: Collection>(utf8 bytes: C) where C.Element == UInt8 {
        value = String(decoding: bytes, as: UTF8.self)
    }

    static func == (a: ExactText, b: ExactText) -> Bool {
        a.value.utf8.elementsEqual(b.value.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var value = value
        value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
