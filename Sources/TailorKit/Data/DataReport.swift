import Foundation

/// What `tailor data check` reports for one file: format, counts, token lengths, truncation, supervision,
/// duplicates and the first bad lines. Built in one streaming pass in bounded memory: lengths are counted
/// per token count (examples never exceed `max_seq_len + 1` tokens, so quantiles are exact), and exact
/// duplicates are found among the first `DataReporter.duplicateWindow` examples (8 bytes each).
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
    /// Truncated examples whose supervised answer (and its end-of-turn token) was cut.
    public var endCut = 0
    /// Examples whose last supervised token is not an EOS or end-of-turn token (the model would not learn
    /// to stop), truncation included.
    public var endNotSupervised = 0
    public var duplicates = 0
    /// Duplicates were looked for among this many examples (all of them when `examples` is not larger).
    public var duplicatesChecked = 0
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
    /// Exact duplicates are looked for among this many examples (8 MB of hashes).
    public static let duplicateWindow = 1 << 20

    /// Reads `source` to the end (bad lines are counted whatever its policy) and reports on it.
    public static func report(_ source: ExampleSource, split: String, maxIssues: Int = 5) throws -> DataFileReport {
        var r = DataFileReport(path: source.path, split: split, format: source.schema.format.rawValue)
        r.formatDetectedFromLine = source.detectedFrom
        var lengthCounts = [Int](repeating: 0, count: source.encoder.maxTokens + 1)
        var seen = Set<UInt64>()
        var firstIssues: [DataIssue] = []
        let previous = source.onIssue
        source.onIssue = { issue in
            switch issue.kind {
            case .badLine: r.badLines += 1
            case .noSupervisedTokens: r.noSupervisedTokens += 1
            case .endCut: r.endCut += 1
            }
            if firstIssues.count < maxIssues { firstIssues.append(issue) }
        }
        defer { source.onIssue = previous }
        while true {
            let e: SourcedExample?
            do { e = try source.next() } catch let DataError.badLine(path, line, column, reason) {
                // A strict source stops at a bad line; the report records it and goes on past it.
                source.onIssue?(DataIssue(kind: .badLine, path: path, line: line, column: column, reason: reason))
                try source.seek(to: LineCursor(offset: try offsetAfterLine(path: path, line: line), line: line + 1))
                continue
            }
            guard let e else { break }
            r.examples += 1
            let ex = e.example
            lengthCounts[min(ex.tokens.count, lengthCounts.count - 1)] += 1
            r.tokens += ex.tokens.count - 1
            r.supervisedTokens += ex.supervisedCount
            if ex.truncated { r.truncated += 1 }
            if !source.encoder.endsWithSupervisedEnd(ex) { r.endNotSupervised += 1 }
            if r.examples <= duplicateWindow {
                r.duplicatesChecked += 1
                if !seen.insert(fnv1a(ex.tokens)).inserted { r.duplicates += 1 }
            }
        }
        r.lines = source.cursor.line - 1
        r.firstIssues = firstIssues.map(\.description)
        r.format = source.schema.format.rawValue
        guard r.examples > 0, let lo = lengthCounts.firstIndex(where: { $0 > 0 }), let hi = lengthCounts.lastIndex(where: { $0 > 0 }) else {
            return r
        }
        r.lengthMin = lo
        r.lengthMax = hi
        func quantile(_ q: Double) -> Int {
            let target = min(r.examples - 1, Int(Double(r.examples) * q))
            var seen = 0
            for (len, c) in lengthCounts.enumerated() {
                seen += c
                if seen > target { return len }
            }
            return hi
        }
        r.lengthMedian = quantile(0.5)
        r.lengthP95 = quantile(0.95)
        let bucket = max(16, (hi + 15) / 16 / 16 * 16 + 16)
        r.histogramBucket = bucket
        r.histogram = [Int](repeating: 0, count: hi / bucket + 1)
        for (len, c) in lengthCounts.enumerated() where c > 0 { r.histogram[len / bucket] += c }
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
