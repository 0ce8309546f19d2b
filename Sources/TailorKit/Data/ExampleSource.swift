import Foundation

/// A line that was skipped (`data.on_bad_line: skip`) or an example that trains nothing, with where it is.
public struct DataIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case badLine = "bad_line", noSupervisedTokens = "no_supervised_tokens" }
    public var kind: Kind
    public var path: String
    public var line: Int
    public var column: Int?
    public var reason: String

    public var description: String { "\(path):\(line)\(column.map { ":\($0)" } ?? ""): \(reason)" }
}

/// Which lines of a file a source yields when part of it is held out for validation (`data.valid_fraction`):
/// a line is held out when a seeded hash of its line number falls below the fraction, so the split is
/// stable across runs, epochs and resumes without a pass over the file.
public struct Holdout: Sendable, Equatable, Codable {
    public var fraction: Double
    public var seed: UInt64
    /// True: yield only held-out lines (validation); false: skip them (training).
    public var heldOut: Bool

    public init(fraction: Double, seed: UInt64, heldOut: Bool) {
        self.fraction = fraction
        self.seed = seed
        self.heldOut = heldOut
    }

    public func keeps(line: Int) -> Bool {
        var z = seed &+ UInt64(line) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Double(z >> 11) / Double(1 << 53)
        return (u < fraction) == heldOut
    }
}

/// One example read from a file, and the cursor of its line (enough to read it again on resume).
public struct SourcedExample: Sendable {
    public var example: TokenizedExample
    public var cursor: LineCursor
    /// The rendered text and its supervised ranges, when the source keeps them (`keepText`).
    public var rendered: RenderedExample?
}

/// Reads one JSONL file in order and yields tokenized examples: blank lines are passed over, the format
/// is fixed per file (`data.format`, or detected from the first non-blank line), and a bad line is an
/// error naming file, line and column — or, with `on_bad_line: skip`, reported to `onIssue` and skipped.
/// Examples with no supervised token are skipped and reported too.
public final class ExampleSource {
    public let path: String
    public let encoder: ExampleEncoder
    public let policy: BadLinePolicy
    public let holdout: Holdout?
    /// The file's format and keys, once detected.
    public private(set) var schema: ExampleSchema
    /// The line the format was detected from.
    public private(set) var detectedFrom: Int?
    public var onIssue: ((DataIssue) -> Void)?
    /// Keep each example's rendered text (for `data render` and `data check --show`).
    public var keepText = false
    private var reader: JSONLReader

    public init(path: String, schema: ExampleSchema, encoder: ExampleEncoder, policy: BadLinePolicy, holdout: Holdout? = nil, at cursor: LineCursor = .start) throws {
        self.path = path
        self.encoder = encoder
        self.policy = policy
        self.holdout = holdout
        self.schema = schema
        reader = try JSONLReader(path: path, at: cursor)
        if schema.format == .auto { try detectFormat() }
    }

    /// Where the next line starts.
    public var cursor: LineCursor { reader.cursor }

    /// Fixes the format from the first non-blank line whose keys say one.
    private func detectFormat() throws {
        let probe = try JSONLReader(path: path)
        while let line = try probe.next() {
            if line.isBlank { continue }
            guard case let .object(obj)? = try? JSONParser.parse(line.bytes), let f = schema.detect(obj) else {
                if policy == .skip { continue }
                break  // the error surfaces with its line when that line is read
            }
            schema.format = f
            detectedFrom = line.cursor.line
            return
        }
        if detectedFrom == nil && policy == .skip {
            throw DataError.empty(path: path)
        }
    }

    /// Moves to `cursor` (a line start saved earlier).
    public func seek(to cursor: LineCursor) throws {
        reader = try JSONLReader(path: path, at: cursor)
    }

    /// The next example, or nil at the end of the file.
    public func next() throws -> SourcedExample? {
        while let line = try reader.next() {
            if line.isBlank { continue }
            if let holdout, !holdout.keeps(line: line.cursor.line) { continue }
            if let e = try example(from: line) { return e }
        }
        return nil
    }

    /// Reads the example on the line at `cursor` again (restoring a shuffle buffer after resume).
    public func example(at cursor: LineCursor) throws -> TokenizedExample? {
        let r = try JSONLReader(path: path, at: cursor)
        guard let line = try r.next() else {
            throw DataError.cannotRead(path: path, reason: "no line at byte \(cursor.offset) (line \(cursor.line)); was the file changed since the checkpoint?")
        }
        return try example(from: line)?.example
    }

    private func example(from line: JSONLLine) throws -> SourcedExample? {
        let n = line.cursor.line
        do {
            let value: JSONValue
            do { value = try JSONParser.parse(line.bytes) } catch {
                throw DataError.badLine(path: path, line: n, column: error.column, reason: "invalid JSON: \(error.message); expected \(schema.expectedShape(schema.format))")
            }
            let ex: Example
            do { ex = try schema.example(from: value) } catch {
                let mismatch = detectedFrom.map { d in
                    if case let .object(o) = value, let f = schema.detect(o), f != schema.format {
                        return " (this line looks like \(f.rawValue) data, but the file's format is \(schema.format.rawValue), detected from line \(d))"
                    }
                    return ""
                } ?? ""
                throw DataError.badLine(path: path, line: n, column: nil, reason: error.reason + mismatch)
            }
            let rendered: RenderedExample
            do { rendered = try encoder.render(ex) } catch {
                throw DataError.badLine(path: path, line: n, column: nil, reason: error.reason)
            }
            let tokens = encoder.tokenize(rendered)
            if tokens.supervisedCount == 0 {
                onIssue?(DataIssue(kind: .noSupervisedTokens, path: path, line: n, column: nil,
                                   reason: tokens.truncated ? "no supervised token left after truncation to max_seq_len; skipped" : "no supervised token; skipped"))
                return nil
            }
            return SourcedExample(example: tokens, cursor: line.cursor, rendered: keepText ? rendered : nil)
        } catch let DataError.badLine(p, l, c, reason) where policy == .skip {
            onIssue?(DataIssue(kind: .badLine, path: p, line: l, column: c, reason: reason))
            return nil
        }
    }
}
