import ArgumentParser
import Foundation
import TailorRuns

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Work with recorded runs (see also `tailor status`).",
        subcommands: [Compare.self])

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "Compare two runs: config diff, input files, and both loss curves on the same axes.",
            discussion: """
                The config diff is a line diff of the resolved configs (defaults
                filled in, overrides applied), each change shown under the keys
                that enclose it. Input files are compared by sha256. The two loss
                charts share their step and loss ranges.

                --json shape (version 1):
                  {version, database, a: {run: Run, metrics: [Metric]}, b: {...},
                   configDiff: [{op: "-" | "+", line}],
                   inputs: [{role, a: sha256 | null, b: sha256 | null}]}
                  Run and Metric as in `tailor status --json`.

                Example: tailor runs compare smollm2-demo 3
                """)

        @Argument(help: ArgumentHelp("The first run: an id, or a name (its latest run).", valueName: "a"))
        var first: String

        @Argument(help: ArgumentHelp("The second run: an id, or a name (its latest run).", valueName: "b"))
        var second: String

        @Flag(help: "Print JSON on stdout (shape above).")
        var json = false

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.openForReading()
            let a = try store.snapshot(run: try store.resolveRun(first).id, lastEvents: 0)
            let b = try store.snapshot(run: try store.resolveRun(second).id, lastEvents: 0)
            let diff = LineDiff.lines(
                from: a.summary.run.resolvedYAML.split(separator: "\n").map(String.init),
                to: b.summary.run.resolvedYAML.split(separator: "\n").map(String.init))
            if json {
                emit(try jsonText(CompareJSON(a: a, b: b, diff: diff, database: store.path), compact: false))
            } else {
                emit(Self.text(a, b, diff: diff))
            }
        }

        /// Input roles in order, with each run's sha256 for it.
        static func inputs(_ a: RunSnapshot, _ b: RunSnapshot) -> [(role: String, a: String?, b: String?)] {
            RunInput.Role.allCases.compactMap { role in
                let x = a.inputs.first { $0.role == role }?.sha256
                let y = b.inputs.first { $0.role == role }?.sha256
                return x == nil && y == nil ? nil : (role.rawValue, x, y)
            }
        }

        static func text(_ a: RunSnapshot, _ b: RunSnapshot, diff: [LineDiff.Line]) -> String {
            var out: [String] = []
            for (label, s) in [("A", a), ("B", b)] {
                let r = s.summary.run
                var line = "\(label)  run \(r.id) · \(r.name) · \(RunText.status(r)) · step \(RunText.progress(r))"
                line += " · loss \(RunText.loss(s.summary.lastLoss))"
                if let best = s.summary.bestValidLoss { line += " · best valid \(RunText.loss(best))" }
                out.append(line)
            }
            out.append("")
            let hunks = LineDiff.hunks(diff)
            if hunks.isEmpty {
                out.append("config: identical (resolved)")
            } else {
                out.append("config (resolved; - A, + B)")
                out += hunks.map { $0?.rendered ?? "  …" }
            }
            let inputs = Self.inputs(a, b)
            let differing = inputs.filter { $0.a != $0.b }
            if differing.isEmpty {
                out.append("inputs: identical (sha256 of \(inputs.map(\.role).joined(separator: ", ")))")
            } else {
                for d in differing {
                    let x = d.a.map { String($0.prefix(12)) + "…" } ?? "none"
                    let y = d.b.map { String($0.prefix(12)) + "…" } ?? "none"
                    out.append("inputs: \(d.role) differs: A \(x), B \(y)")
                }
            }
            // Both charts on the same axes.
            let charts = [a, b].map { LossChart(metrics: $0.metrics, maxWidth: 80, height: 8) }
            let ranges = charts.compactMap(\.dataRanges)
            for (label, (s, chart)) in zip(["A", "B"], zip([a, b], charts)) {
                var chart = chart
                if let s0 = ranges.map(\.steps.lowerBound).min(), let s1 = ranges.map(\.steps.upperBound).max(),
                    let l0 = ranges.map(\.losses.lowerBound).min(), let l1 = ranges.map(\.losses.upperBound).max()
                {
                    chart.stepRange = s0...s1
                    chart.lossRange = l0...l1
                }
                out.append("")
                out.append("\(label): run \(s.summary.run.id) (\(s.summary.run.name))")
                out += chart.render()
            }
            return out.joined(separator: "\n") + "\n"
        }
    }
}

/// `tailor runs compare --json`.
struct CompareJSON: Encodable {
    struct Side: Encodable {
        let run: RunJSON
        let metrics: [MetricJSON]
    }

    struct Change: Encodable {
        let op: String
        let line: String
    }

    struct Input: Encodable {
        let role: String
        let a: String?
        let b: String?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(role, forKey: .role)
            try c.encode(a, forKey: .a)
            try c.encode(b, forKey: .b)
        }

        enum CodingKeys: String, CodingKey { case role, a, b }
    }

    let version = statusJSONVersion
    let database: String
    let a: Side
    let b: Side
    let configDiff: [Change]
    let inputs: [Input]

    init(a: RunSnapshot, b: RunSnapshot, diff: [LineDiff.Line], database: String) {
        let now = Date()
        self.database = database
        self.a = Side(run: RunJSON(summary: a.summary, now: now), metrics: a.metrics.map(MetricJSON.init))
        self.b = Side(run: RunJSON(summary: b.summary, now: now), metrics: b.metrics.map(MetricJSON.init))
        configDiff = diff.compactMap { line in
            switch line {
            case .same: nil
            case .removed(let s): Change(op: "-", line: s)
            case .added(let s): Change(op: "+", line: s)
            }
        }
        inputs = RunsCommand.Compare.inputs(a, b).map { Input(role: $0.role, a: $0.a, b: $0.b) }
    }
}
