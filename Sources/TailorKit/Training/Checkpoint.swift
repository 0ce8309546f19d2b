import Foundation

/// The trainer's state at a step boundary, beside the tensors: enough to continue bit-identically
/// (ARCHITECTURE.md §4). Saved as `trainer_state.json`.
public struct TrainerState: Codable, Sendable, Equatable {
    public static let formatVersion = 1
    public var format = TrainerState.formatVersion
    /// Optimizer steps done.
    public var step: Int
    public var totalSteps: Int
    /// AdamW's bias-correction step count.
    public var adamStep: Int
    /// The data stream: file cursor, epoch, shuffle buffer, pending batch examples, shuffle RNG.
    public var data: DataStreamState?
    /// Consecutive non-finite steps so far (the NaN guard's count).
    public var badSteps: Int
    /// Every step's training loss so far, exactly (a resumed run's history equals an uninterrupted one's).
    public var losses: [Double]
    public var validLosses: [Int: Double]
    /// Evaluations since the best validation loss (early stopping's patience count).
    public var evalsWithoutImprovement: Int
    /// sha256 of the resolved config the run started with: resuming under a changed config is refused.
    public var configSHA256: String

    enum CodingKeys: String, CodingKey {
        case format, step, data, losses
        case totalSteps = "total_steps"
        case adamStep = "adam_step"
        case badSteps = "bad_steps"
        case validLosses = "valid_losses"
        case evalsWithoutImprovement = "evals_without_improvement"
        case configSHA256 = "config_sha256"
    }

    public var bestValidLoss: Double? { validLosses.values.filter(\.isFinite).min() }
}

/// A checkpoint directory found on disk, verified against its manifest.
public struct CheckpointInfo: Sendable, Equatable {
    public var step: Int
    public var directory: URL
    /// The validation loss at this step, if one was computed.
    public var validLoss: Double?
    /// sha256 of `adapter_model.safetensors`.
    public var adapterSHA256: String
}

public enum CheckpointError: Error, LocalizedError, Equatable {
    case corrupt(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case configChanged(path: String)
    case mismatch(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .corrupt(path, reason): "\(path): checkpoint is damaged: \(reason)"
        case let .writeFailed(path, reason):
            "\(path): could not write the checkpoint: \(reason); the previous checkpoint is intact"
        case let .configChanged(path):
            "\(path): the run's config changed since this checkpoint; resume with the same config (or start a new run with another name)"
        case let .mismatch(path, reason): "\(path): checkpoint does not fit this model: \(reason)"
        }
    }
}

/// Test hooks that kill or fail the process at named points (`TAILOR_FAULT=point[:n]` → the n-th time the
/// point is reached, default the first). `kill:` points raise SIGKILL (a crash), `enospc:` points make the
/// write fail as a full disk would. Unset in normal runs; checking costs one dictionary lookup.
public enum FaultInjection {
    nonisolated(unsafe) static var counts: [String: Int] = [:]
    static let spec: (kind: String, point: String, n: Int)? = {
        guard let v = ProcessInfo.processInfo.environment["TAILOR_FAULT"], !v.isEmpty else { return nil }
        let parts = v.split(separator: ":").map(String.init)
        guard parts.count >= 2 else { return nil }
        return (parts[0], parts[1], parts.count > 2 ? Int(parts[2]) ?? 1 : 1)
    }()

    /// Crashes here if `TAILOR_FAULT=kill:<point>[:n]` names this point.
    public static func point(_ name: String) {
        guard let s = spec, s.kind == "kill", s.point == name else { return }
        counts[name, default: 0] += 1
        if counts[name] == s.n { kill(getpid(), SIGKILL) }
    }

    /// Throws ENOSPC here if `TAILOR_FAULT=enospc:<point>[:n]` names this point.
    public static func failingWrite(_ name: String, path: String) throws {
        guard let s = spec, s.kind == "enospc", s.point == name else { return }
        counts[name, default: 0] += 1
        if counts[name]! >= s.n { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(ENOSPC))) }
    }
}

/// Checkpoints of a run under `<output>/checkpoints/step-NNNNNN/`:
/// `adapter_config.json` + `adapter_model.safetensors` (PEFT, loadable as is), `trainer_tensors.safetensors`
/// (the adapters in Tailor's own layout and AdamW's moments, bit-exact), `trainer_state.json`, and
/// `manifest.json` (sha256 of every file), written last. A checkpoint is written into a temporary sibling,
/// every file fsynced, renamed into place, and the parent fsynced, so a crash at any instant leaves the
/// previous checkpoint readable; a damaged one is detected by its manifest and passed over.
public struct CheckpointStore {
    public let root: URL

    public init(outputDirectory: String) {
        root = URL(fileURLWithPath: outputDirectory).appendingPathComponent("checkpoints")
    }

    public static func name(step: Int) -> String { String(format: "step-%06d", step) }

    /// Writes a checkpoint and returns where it went.
    public func write(model: LlamaModel, optimizer: AdamW, state: TrainerState, baseModelName: String) throws -> CheckpointInfo {
        let fm = FileManager.default
        let final = root.appendingPathComponent(Self.name(step: state.step))
        let tmp = root.appendingPathComponent(".\(Self.name(step: state.step)).tmp-\(getpid())")
        do {
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
            try? fm.removeItem(at: tmp)
            try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
            try PEFTAdapter.write(model: model, to: tmp, baseModelName: baseModelName, extraMetadata: ["tailor.step": String(state.step)])
            FaultInjection.point("checkpoint.adapter")
            // Streamed from the live buffers: a checkpoint costs no copy of the adapters or moments.
            var tensors = SafetensorsWriter()
            tensors.metadata = ["tailor.format": "1", "tailor.adam_step": String(optimizer.step)]
            for (i, p) in model.parameters.enumerated() {
                tensors.add("param.\(i)", shape: [p.rows, p.cols], values: p.data, count: p.count)
                let m = optimizer.firstMoments[i], v = optimizer.secondMoments[i]
                tensors.add("adam.m.\(i)", shape: [m.count], values: m.pointer, count: m.count)
                tensors.add("adam.v.\(i)", shape: [v.count], values: v.pointer, count: v.count)
            }
            try FaultInjection.failingWrite("checkpoint", path: tmp.path)
            try tensors.writeSynced(to: tmp.appendingPathComponent("trainer_tensors.safetensors"))
            FaultInjection.point("checkpoint.tensors")
            let enc = Self.encoder()
            try Self.writeSynced(try enc.encode(state), to: tmp.appendingPathComponent("trainer_state.json"))
            var files: [String: String] = [:]
            for f in Self.files {
                files[f] = try SHA256.hexDigest(ofFile: tmp.appendingPathComponent(f).path)
            }
            let manifest = Manifest(step: state.step, files: files, validLoss: state.validLosses[state.step])
            try Self.writeSynced(try enc.encode(manifest), to: tmp.appendingPathComponent("manifest.json"))
            Self.fsyncPath(tmp.path)
            FaultInjection.point("checkpoint.before-rename")
            if fm.fileExists(atPath: final.path) {
                // Re-saving a step (after a resume): move the old one aside first; rename cannot replace a
                // non-empty directory.
                let old = root.appendingPathComponent(".\(Self.name(step: state.step)).old-\(getpid())")
                try? fm.removeItem(at: old)
                try fm.moveItem(at: final, to: old)
                try fm.moveItem(at: tmp, to: final)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: tmp, to: final)
            }
            Self.fsyncPath(root.path)
            FaultInjection.point("checkpoint.after-rename")
            return CheckpointInfo(step: state.step, directory: final, validLoss: manifest.validLoss, adapterSHA256: files["adapter_model.safetensors"] ?? "")
        } catch let e as CheckpointError {
            try? fm.removeItem(at: tmp)
            throw e
        } catch {
            try? fm.removeItem(at: tmp)
            throw CheckpointError.writeFailed(path: final.path, reason: (error as NSError).localizedDescription)
        }
    }

    /// JSON with non-finite numbers spelled out (a skipped step's loss is NaN) and keys sorted.
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    static let files = ["adapter_config.json", "adapter_model.safetensors", "trainer_tensors.safetensors", "trainer_state.json"]

    struct Manifest: Codable {
        var step: Int
        var files: [String: String]
        var validLoss: Double?
        enum CodingKeys: String, CodingKey {
            case step, files
            case validLoss = "valid_loss"
        }
    }

    static func writeSynced(_ data: Data, to url: URL) throws {
        let sink = try FileSink(creating: url.path)
        try sink.put(data)
        try sink.sync()
    }

    static func fsyncPath(_ path: String) { FileSink.syncDirectory(path) }

    /// Checkpoint directories by step, newest first (unverified).
    public func candidates() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.compactMap { n -> (Int, URL)? in
            guard n.hasPrefix("step-"), let s = Int(n.dropFirst(5)) else { return nil }
            return (s, root.appendingPathComponent(n))
        }.sorted { $0.0 > $1.0 }
    }

    /// The trainer state saved in a checkpoint directory (unverified), if readable.
    public func state(at url: URL) -> TrainerState? {
        guard let d = FileManager.default.contents(atPath: url.appendingPathComponent("trainer_state.json").path) else { return nil }
        return try? Self.decoder().decode(TrainerState.self, from: d)
    }

    /// Removes every checkpoint (a new run starts in this output directory).
    public func removeAll() throws {
        if FileManager.default.fileExists(atPath: root.path) { try FileManager.default.removeItem(at: root) }
    }

    /// Verifies a checkpoint's files against its manifest.
    public func verify(_ url: URL) throws -> CheckpointInfo {
        let mURL = url.appendingPathComponent("manifest.json")
        guard let mData = FileManager.default.contents(atPath: mURL.path) else {
            throw CheckpointError.corrupt(path: url.path, reason: "no manifest.json (the write did not finish)")
        }
        let m: Manifest
        do { m = try Self.decoder().decode(Manifest.self, from: mData) } catch {
            throw CheckpointError.corrupt(path: url.path, reason: "manifest.json is unreadable")
        }
        for f in Self.files {
            let path = url.appendingPathComponent(f).path
            guard FileManager.default.fileExists(atPath: path), let digest = try? SHA256.hexDigest(ofFile: path) else {
                throw CheckpointError.corrupt(path: url.path, reason: "\(f) is missing")
            }
            guard digest == m.files[f] else {
                throw CheckpointError.corrupt(path: url.path, reason: "\(f) does not match its sha256 in manifest.json")
            }
        }
        return CheckpointInfo(step: m.step, directory: url, validLoss: m.validLoss, adapterSHA256: m.files["adapter_model.safetensors"] ?? "")
    }

    /// The newest intact checkpoint; damaged ones are reported to `onSkip` and passed over.
    public func latest(onSkip: (CheckpointError) -> Void = { _ in }) -> CheckpointInfo? {
        for c in candidates() {
            do { return try verify(c.url) } catch let e as CheckpointError { onSkip(e) } catch {}
        }
        return nil
    }

    /// Loads a verified checkpoint into `model` and `optimizer`; returns its trainer state.
    public func load(_ info: CheckpointInfo, into model: LlamaModel, optimizer: inout AdamW) throws -> TrainerState {
        let dir = info.directory
        let state: TrainerState
        do {
            state = try Self.decoder().decode(TrainerState.self, from: Data(contentsOf: dir.appendingPathComponent("trainer_state.json")))
        } catch {
            throw CheckpointError.corrupt(path: dir.path, reason: "trainer_state.json: \(error)")
        }
        let t = try SafetensorsFile(url: dir.appendingPathComponent("trainer_tensors.safetensors"))
        let params = model.parameters
        var m: [[Float]] = [], v: [[Float]] = []
        for (i, p) in params.enumerated() {
            let values = try t.floats("param.\(i)")
            guard values.count == p.count else {
                throw CheckpointError.mismatch(path: dir.path, reason: "param.\(i) has \(values.count) values, the model's adapter \(p.count) (different rank, targets or layers?)")
            }
            m.append(try t.floats("adam.m.\(i)"))
            v.append(try t.floats("adam.v.\(i)"))
            p.data.update(from: values, count: values.count)
        }
        guard t.entries["param.\(params.count)"] == nil else {
            throw CheckpointError.mismatch(path: dir.path, reason: "the checkpoint has more adapter tensors than the model (different targets or layers?)")
        }
        try optimizer.restore(AdamW.State(step: state.adamStep, firstMoments: m, secondMoments: v))
        return state
    }

    /// Deletes all but the newest `keep` checkpoints and, with `keepBest`, the one with the lowest
    /// validation loss; also removes leftovers of interrupted writes. Returns the steps removed.
    @discardableResult
    public func prune(keep: Int, keepBest: Bool) -> [Int] {
        let fm = FileManager.default
        let all = candidates()
        var kept = Set(all.prefix(max(1, keep)).map(\.step))
        if keepBest {
            let best = all.compactMap { c -> (Int, Double)? in
                guard let d = fm.contents(atPath: c.url.appendingPathComponent("manifest.json").path),
                    let m = try? Self.decoder().decode(Manifest.self, from: d), let v = m.validLoss, v.isFinite
                else { return nil }
                return (c.step, v)
            }.min { $0.1 < $1.1 }
            if let best { kept.insert(best.0) }
        }
        var removed: [Int] = []
        for c in all where !kept.contains(c.step) {
            // Renamed out of the step-N namespace first (atomic), then deleted: a crash mid-delete leaves a
            // dot-named leftover (cleaned below next time), never a step-N directory missing files.
            let trash = root.appendingPathComponent(".\(c.url.lastPathComponent).del-\(getpid())")
            guard rename(c.url.path, trash.path) == 0 else { continue }
            try? fm.removeItem(at: trash)
            removed.append(c.step)
        }
        for n in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where n.hasPrefix(".step-") {
            try? fm.removeItem(at: root.appendingPathComponent(n))
        }
        return removed
    }
}
