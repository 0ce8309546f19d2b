import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the recorded runs, or one run in detail with its loss curve.",
        discussion: """
            Without RUN: a table of the most recent runs (id, name, status,
            step/total, last loss, best validation loss, tokens/s, elapsed, ETA).
            With RUN (an id, or a name for the latest run of that name): its
            config, input files, progress, the train and validation loss curve,
            checkpoints and recent events. `running?` means the worker process
            on this host is gone.

            --follow redraws every --interval seconds while a run trains in
            another process (WAL mode: reading never blocks the trainer) and
            stops when the run ends or on Ctrl-C; with --json it prints one
            compact JSON document per line whenever something changed.

            --json shape (version 1; every key present, null when unknown):
              list:   {version, database, runs: [Run]}
              detail: {version, database, run: Run,
                       config: {written, resolved},
                       inputs: [{role, path, bytes, sha256}],
                       metrics: [{step, loss, validLoss, lr, gradNorm,
                                  tokensPerSecond, supervisedTokens,
                                  peakRSSBytes, tokens, seconds, skipped}],
                       checkpoints: [{step, path, validLoss, adapterSHA256,
                                      createdAt}],
                       events: [{time, kind, message, step}]}
              Run:    {id, name, status, workerAlive, step, totalSteps,
                       lastLoss, bestValidLoss, bestValidStep, tokensPerSecond,
                       peakRSSBytes, elapsedSeconds, etaSeconds, createdAt,
                       startedAt, finishedAt, heartbeatAt, workerPID,
                       workerHost, error, configPath, outputDirectory}
              Times are ISO 8601 UTC, sizes bytes, durations seconds.

            Examples:
              tailor status
              tailor status smollm2-demo --follow
              tailor status 3 --json | jq '.metrics[-1].loss'
            """)

    @Argument(
        help: ArgumentHelp("A run id, or a run name (its latest run). Omit for a table of runs.", valueName: "run"))
    var reference: String?

    @Flag(help: "Print JSON on stdout (shape above).")
    var json = false

    @Flag(help: "Refresh until the run ends (without RUN: while any run is queued or running); Ctrl-C stops.")
    var follow = false

    @Option(help: "Seconds between refreshes with --follow (default: 1).")
    var interval: Double = 1

    @Option(help: "Runs in the table: the most recent N (default: 20; 0 lists all).")
    var limit: Int = 20

    @Option(help: "Recent events shown for a run (default: 10).")
    var events: Int = 10

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard interval >= 0.1 && interval <= 3600 else {
            throw ValidationError("--interval must be between 0.1 and 3600 seconds, got \(interval)")
        }
        guard limit >= 0 else { throw ValidationError("--limit must be 0 or more, got \(limit)") }
        guard events >= 0 else { throw ValidationError("--events must be 0 or more, got \(events)") }
    }

    /// One rendering: the text and whether the run (or every run) has stopped.
    struct Frame {
        var text: String
        var ended: Bool
    }

    func run() throws {
        let store = try database.openForReading()
        let id = try reference.map { try store.resolveRun($0).id }
        let render = { (compact: Bool) throws -> Frame in
            let now = Date()
            if let id {
                let snapshot = try store.snapshot(run: id, lastEvents: events)
                let r = snapshot.summary.run
                let ended = !r.status.isActive || r.workerIsAlive() == false
                let text =
                    json
                    ? try jsonText(RunDetailJSON(snapshot, database: store.path, now: now), compact: compact)
                    : RunText.detail(snapshot, now: now)
                return Frame(text: text, ended: ended)
            }
            let runs = try store.runs(limit: limit == 0 ? nil : limit)
            let ended = !runs.contains { $0.run.status.isActive && $0.run.workerIsAlive() != false }
            let text =
                json
                ? try jsonText(
                    RunListJSON(database: store.path, runs: runs.map { RunJSON(summary: $0, now: now) }),
                    compact: compact)
                : RunText.table(runs, database: store.path, now: now)
            return Frame(text: text, ended: ended)
        }
        guard follow else {
            emit(try render(false).text)
            return
        }
        let redraw = !json && isatty(1) != 0
        let trap = SignalTrap { _ in
            if redraw { emit("\n") }
            _exit(0)
        }
        defer { trap.cancel() }
        var last = ""
        while true {
            let frame = try render(true)
            if redraw {
                // Home, each line cleared to its end, then the rest of the screen cleared: no flicker.
                let lines = frame.text.split(separator: "\n", omittingEmptySubsequences: false)
                emit("\u{1B}[H" + lines.joined(separator: "\u{1B}[K\n") + "\u{1B}[J")
            } else if frame.text != last {
                emit((last.isEmpty || json ? "" : "\n") + frame.text)
            }
            last = frame.text
            if frame.ended { break }
            Thread.sleep(forTimeInterval: interval)
        }
    }
}

/// The text forms of runs for the terminal (80 columns).
enum RunText {
    /// `s` right-aligned in `width` columns.
    static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    static func loss(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }

    static func bytes(_ n: Int64?) -> String {
        guard let n else { return "-" }
        let v = Double(n)
        if v >= 1_073_741_824 { return String(format: "%.1f GiB", v / 1_073_741_824) }
        if v >= 1_048_576 { return String(format: "%.0f MiB", v / 1_048_576) }
        if v >= 1024 { return String(format: "%.0f KiB", v / 1024) }
        return "\(n) B"
    }

    static func time(_ date: Date?, format: String = "yyyy-MM-dd HH:mm:ss") -> String {
        guard let date else { return "-" }
        let f = DateFormatter()
        f.dateFormat = format
        return f.string(from: date)
    }

    /// The status as shown: `running?` when the worker is gone.
    static func status(_ run: Run) -> String {
        run.status.rawValue + (run.workerIsAlive() == false ? "?" : "")
    }

    static func progress(_ run: Run) -> String {
        run.totalSteps.map { "\(run.currentStep)/\($0)" } ?? String(run.currentStep)
    }

    static func table(_ runs: [RunSummary], database: String, now: Date) -> String {
        guard !runs.isEmpty else { return "no runs in \(database)\n" }
        let header = ["ID", "NAME", "STATUS", "STEP", "LOSS", "VALID", "TOK/S", "ELAPSED", "ETA"]
        let rightAligned: Set<Int> = [0, 3, 4, 5, 6, 7, 8]
        let rows = runs.map { s -> [String] in
            let name = s.run.name.count > 18 ? s.run.name.prefix(17) + "…" : s.run.name
            return [
                String(s.run.id), name, status(s.run), progress(s.run), loss(s.lastLoss), loss(s.bestValidLoss),
                s.tokensPerSecond.map { String(format: "%.0f", $0) } ?? "-",
                s.elapsed(now: now).map(formatDuration) ?? "-", s.eta(now: now).map(formatDuration) ?? "-",
            ]
        }
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }
            return padded.joined(separator: "  ").replacingOccurrences(
                of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = ([header] + rows).map(line)
        if runs.contains(where: { $0.run.workerIsAlive() == false }) {
            out.append("? the worker process is gone: the run stopped without recording it")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The config lines of the detail view, from the resolved YAML.
    static func configSummary(_ run: Run) -> [(String, String)] {
        guard let c = try? ConfigLoader.load(yaml: run.resolvedYAML) else {
            return [("config", "(the stored config no longer parses)")]
        }
        let l = c.lora
        let t = c.train
        let layers: String
        switch l.layers {
        case .all: layers = "all"
        case .last(let n): layers = "last \(n)"
        case .list(let list): layers = list.map(String.init).joined(separator: ",")
        }
        let length = t.steps.map { "\($0) steps" } ?? "\(t.epochs ?? 1) epochs"
        let warmup = t.warmupRatio.map { "warmup \(Int($0 * 100))%" } ?? "warmup \(t.warmup)"
        return [
            (
                "lora",
                "rank \(l.rank), alpha \(formatNumber(l.alpha)), dropout \(formatNumber(l.dropout)), "
                    + "targets \(l.targets.map(\.rawValue).joined(separator: ",")), layers \(layers)"
            ),
            (
                "train",
                "\(length), batch \(t.batchSize) x \(t.gradAccumulation), seq \(t.maxSeqLen), "
                    + "lr \(formatNumber(t.lr)) \(t.schedule.rawValue), \(warmup), seed \(t.seed)"
            ),
        ]
    }

    static func formatNumber(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : String(x)
    }

    static func detail(_ s: RunSnapshot, now: Date) -> String {
        let sum = s.summary
        let r = sum.run
        var out: [String] = []
        var head = "run \(r.id) · \(r.name) · \(status(r))"
        if let pid = r.workerPID, let host = r.workerHost, r.status == .running { head += " (pid \(pid) on \(host))" }
        out.append(head)
        var fields: [(String, String)] = []
        if let path = r.configPath { fields.append(("config", path)) }
        for input in s.inputs
        where input.role != .tokenizer || !s.inputs.contains(where: { $0.role == .model && $0.path == input.path }) {
            fields.append(
                (input.role.rawValue, "\(input.path) (\(bytes(input.bytes)), sha256 \(input.sha256.prefix(12))…)"))
        }
        fields += configSummary(r)
        fields.append(("output", r.outputDirectory))
        var progressLine = "step \(progress(r)) · loss \(loss(sum.lastLoss))"
        if let best = sum.bestValidLoss {
            progressLine += " · best valid \(loss(best))" + (sum.bestValidStep.map { " @ \($0)" } ?? "")
        }
        if let tps = sum.tokensPerSecond { progressLine += String(format: " · %.0f tok/s", tps) }
        if let peak = sum.peakRSSBytes { progressLine += " · peak \(bytes(Int64(peak)))" }
        fields.append(("progress", progressLine))
        var timeLine = "created \(time(r.createdAt))"
        if r.startedAt != nil { timeLine = "started \(time(r.startedAt))" }
        if let e = sum.elapsed(now: now) { timeLine += " · elapsed \(formatDuration(e))" }
        if let eta = sum.eta(now: now) { timeLine += " · ETA \(formatDuration(eta))" }
        fields.append(("time", timeLine))
        if let error = r.error { fields.append(("error", error)) }
        for (key, value) in fields {
            out.append("  " + key.padding(toLength: 9, withPad: " ", startingAt: 0) + " " + value)
        }
        out.append("")
        out += LossChart(metrics: s.metrics, maxWidth: 80, height: 10).render()
        out.append("")
        if s.checkpoints.isEmpty {
            out.append("checkpoints: none")
        } else {
            out.append("checkpoints")
            func cells(_ step: String, _ valid: String, _ sha: String, _ path: String) -> String {
                "  " + pad(step, 6) + "  " + pad(valid, 7) + "  "
                    + sha.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + "  " + path
            }
            out.append(cells("STEP", "VALID", "ADAPTER", "PATH"))
            for c in s.checkpoints {
                out.append(cells(String(c.step), loss(c.validLoss), c.adapterSHA256.prefix(12) + "…", c.path))
            }
        }
        out.append("")
        out.append(s.events.isEmpty ? "events: none" : "events (most recent \(s.events.count))")
        for e in s.events {
            let kind = e.kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
            out.append("  \(time(e.time, format: "MM-dd HH:mm:ss"))  \(kind)\(e.message)")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
