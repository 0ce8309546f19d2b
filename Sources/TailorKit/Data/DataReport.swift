import Foundation

/// What `tailor data check` reports for one file: format, counts, token lengths, truncation, supervision,
/// duplicates and the first bad lines. Built in one streaming pass (memory: 8 bytes per example for the
/// duplicate hashes and 4 per example for the length quantiles).
public struct DataFileReport: Sendable, Codable {
    public var path: String
    public var split: String
    public var format: String
    public var formatDetectedFromLine: Int?
    public var lines = 0
    public var examples = 0
    public var badLines = 0
    public var noSupervisedTokens = 0
    public var truncated = 0
    /// Examples whose last supervised token is not an EOS or end-of-turn token (the model would not learn
    /// to stop), truncation included.
    public var endNotSupervised = 0
    public var duplicates = 0
    public var tokens = 0
    public var supervisedTokens = 0
    public var lengthMin = 0
    public var lengthMedian = 0
    public var lengthP95 = 0
    public var lengthMax = 0
    /// Counts of examples by token length, in `histogramBucket`-token buckets from 0.
    public var histogram: [Int] = []
    public var histogramBucket = 0
    /// The first few problems, with file:line.
    public var firstIssues: [String] = []

    public var supervisedPercent: Double { tokens > 0 ? 100 * Double(supervisedTokens) / Double(tokens) : 0 }
}

public enum DataReporter {
    /// Reads `source` to the end (bad lines are counted whatever its policy) and reports on it.
    public static func report(_ source: ExampleSource, split: String, maxIssues: Int = 5) throws -> DataFileReport {
        var r = DataFileReport(path: source.path, split: split, format: source.schema.format.rawValue)
        r.formatDetectedFromLine = source.detectedFrom
        var lengths: [Int32] = []
        var seen = Set<UInt64>()
        var issues: [DataIssue] = []
        let previous = source.onIssue
        source.onIssue = { issues.append($0) }
        defer { source.onIssue = previous }
        while true {
            let e: SourcedExample?
            do { e = try source.next() } catch let DataError.badLine(path, line, column, reason) {
                // A strict source stops at a bad line; the report records it and goes on past it.
                issues.append(DataIssue(kind: .badLine, path: path, line: line, column: column, reason: reason))
                try source.seek(to: LineCursor(offset: try offsetAfterLine(path: path, line: line), line: line + 1))
                continue
            }
            guard let e else { break }
            r.examples += 1
            let ex = e.example
            lengths.append(Int32(ex.tokens.count))
            r.tokens += ex.tokens.count - 1
            r.supervisedTokens += ex.supervisedCount
            if ex.truncated { r.truncated += 1 }
            if !source.encoder.endsWithSupervisedEnd(ex) { r.endNotSupervised += 1 }
            if !seen.insert(fnv1a(ex.tokens)).inserted { r.duplicates += 1 }
        }
        r.lines = source.cursor.line - 1
        r.badLines = issues.filter { $0.kind == .badLine }.count
        r.noSupervisedTokens = issues.filter { $0.kind == .noSupervisedTokens }.count
        r.firstIssues = issues.prefix(maxIssues).map(\.description)
        r.format = source.schema.format.rawValue
        lengths.sort()
        if let first = lengths.first, let last = lengths.last {
            r.lengthMin = Int(first)
            r.lengthMax = Int(last)
            r.lengthMedian = Int(lengths[lengths.count / 2])
            r.lengthP95 = Int(lengths[min(lengths.count - 1, Int(Double(lengths.count) * 0.95))])
            let bucket = max(16, Int(last + 15) / 16 / 16 * 16 + 16)
            r.histogramBucket = bucket
            r.histogram = [Int](repeating: 0, count: Int(last) / bucket + 1)
            for l in lengths { r.histogram[Int(l) / bucket] += 1 }
        }
        return r
    }

    /// The byte offset just past line `line` (1-based), found by a scan: used only to step over a bad line.
    static func offsetAfterLine(path: String, line: Int) throws -> UInt64 {
        let r = try JSONLReader(path: path)
        while let l = try r.next(), l.cursor.line < line {}
        return r.cursor.offset
    }

    static func fnv1a(_ tokens: [Int32]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for t in tokens {
            h = (h ^ UInt64(UInt32(bitPattern: t))) &* 0x100_0000_01B3
        }
        return h
    }
}
