import Foundation

/// What the trainer reports as it goes (ARCHITECTURE.md §5: progress to stderr, decided by the caller).
public enum TrainingEvent: Sendable {
    case started(totalSteps: Int, trainExamples: Int, validExamples: Int, trainableParameters: Int, workspaceBytes: Int)
    case step(TrainingStepMetrics)
    case evaluated(step: Int, validLoss: Double)
    case warning(String)
    /// A checkpoint was written (and is on disk, renamed into place).
    case checkpointed(CheckpointInfo)
    /// Training continues from a checkpoint.
    case resumed(CheckpointInfo)
    /// An older checkpoint was deleted (`checkpoint.keep`).
    case checkpointRemoved(step: Int)
    case finished(TrainingSummary)
}

/// Why a run ended before its last step.
public enum RunStopReason: String, Sendable, Codable {
    /// A stop was requested (Ctrl-C, SIGTERM, `tailor pause`); a checkpoint was written first.
    case interrupted
    /// Validation loss did not improve for `eval.patience` evaluations.
    case earlyStopping = "early_stopping"
}

public struct TrainingStepMetrics: Sendable, Codable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var lr: Double
    public var gradNorm: Double
    public var tokens: Int
    public var supervisedTokens: Int
    public var seconds: Double
    public var tokensPerSecond: Double
    public var peakRSSBytes: Int
    public var skipped: Bool
}

public struct TrainingSummary: Sendable, Codable {
    public var steps: Int
    public var finalLoss: Double
    public var validLosses: [Int: Double]
    public var medianTokensPerSecond: Double
    public var peakRSSBytes: Int
    public var adapterDirectory: String
    public var seconds: Double
    /// Set when the run stopped before `totalSteps`.
    public var stopped: RunStopReason? = nil
    /// Every step's loss, including steps run before a resume.
    public var losses: [Double] = []
}

public enum TrainingError: Error, LocalizedError, Equatable {
    case tooManyBadSteps(step: Int, count: Int)
    case noValidationData

    public var errorDescription: String? {
        switch self {
        case let .tooManyBadSteps(step, count):
            "stopped at step \(step): \(count) consecutive steps had a non-finite loss or gradient (lower train.lr or set train.max_grad_norm)"
        case .noValidationData: "no validation data"
        }
    }
}

/// Peak resident set size of this process in bytes (getrusage: ru_maxrss is in KiB on Linux).
public func peakResidentBytes() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Int(u.ru_maxrss) * 1024
}

/// The step loop (ARCHITECTURE.md §1): batches → forward/backward → clip → AdamW with the LR schedule;
/// evaluation every `eval.every` steps (and at the first and last); the adapter written at the end.
public final class Trainer {
    public let config: TrainingConfig
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    public let batches: BatchSource
    public let trainExampleCount: Int
    public let valid: [TokenizedExample]
    public let totalSteps: Int
    let workspace: TrainingWorkspace
    var optimizer: AdamW
    let schedule: LRSchedule

    /// `trainExampleCount` (examples per epoch) turns `train.epochs` into steps; `trainTokenCount`, when
    /// known, does it for packed rows instead.
    public init(
        config: TrainingConfig, weights: LlamaWeights, tokenizer: Tokenizer, batches: BatchSource, trainExampleCount: Int,
        trainTokenCount: Int? = nil, valid: [TokenizedExample]
    ) throws {
        self.config = config
        self.tokenizer = tokenizer
        self.batches = batches
        self.trainExampleCount = trainExampleCount
        self.valid = valid
        let c = weights.config
        let lc = config.lora
        let settings = LoRASettings(
            rank: lc.rank, alpha: Float(lc.alpha), dropout: Float(lc.dropout), targets: lc.targets.sorted(),
            layers: lc.layers.indices(layerCount: c.layerCount), useRSLoRA: lc.useRSLoRA)
        model = LlamaModel(weights: weights, lora: settings, seed: config.train.seed)
        if let initFrom = lc.initFrom {
            let adapter = try PEFTAdapter.load(directory: URL(fileURLWithPath: initFrom), config: c)
            try model.load(adapter, path: initFrom)
        }
        let t = config.train
        let perStep = t.batchSize * t.gradAccumulation
        let rowsPerEpoch = trainTokenCount.map { ($0 + t.maxSeqLen - 1) / t.maxSeqLen } ?? trainExampleCount
        totalSteps = t.steps ?? max(1, (t.epochs ?? 1) * ((rowsPerEpoch + perStep - 1) / perStep))
        workspace = TrainingWorkspace(
            model: model, tokens: min(t.microBatchTokens, t.batchSize * t.maxSeqLen), seqLen: t.maxSeqLen,
            checkpointing: t.gradCheckpoint)
        optimizer = AdamW(
            parameterCounts: model.parameters.map(\.count), beta1: t.adamBeta1, beta2: t.adamBeta2, eps: t.adamEps,
            weightDecay: t.weightDecay)
        let steps = totalSteps
        let warmup = t.warmupRatio.map { Int((Double(steps) * $0).rounded()) } ?? t.warmup
        schedule = LRSchedule(kind: t.schedule, baseLR: t.lr, warmupSteps: warmup, totalSteps: steps)
    }

    /// Examples in memory (tests, small data): a seeded per-epoch shuffle.
    public convenience init(config: TrainingConfig, weights: LlamaWeights, tokenizer: Tokenizer, train: [TokenizedExample], valid: [TokenizedExample]) throws {
        let pad = tokenizer.padId ?? tokenizer.eosId ?? 0
        let source = InMemoryBatches(train, rows: config.train.batchSize, maxSeqLen: config.train.maxSeqLen, padId: pad, seed: config.train.seed)
        try self.init(config: config, weights: weights, tokenizer: tokenizer, batches: source, trainExampleCount: train.count, valid: valid)
    }

    var padId: Int32 { tokenizer.padId ?? tokenizer.eosId ?? 0 }

    /// Mean loss over the validation set (or `eval.batches` batches of it).
    public func evaluate() -> Double {
        let bs = config.train.batchSize
        var total = LossTotal()
        var i = 0, batches = 0
        while i < valid.count && (config.eval.batches.map { batches < $0 } ?? true) {
            let chunk = Array(valid[i..<min(valid.count, i + bs)])
            let batch = Batcher.batch(chunk, padId: padId, maxSeqLen: config.train.maxSeqLen)
            total = total + model.step(batch, workspace: workspace, lossScale: 1, backward: false)
            i += bs
            batches += 1
        }
        return total.meanLoss
    }

    /// sha256 of the config as it affects the numbers (everything but `train.threads`): a checkpoint
    /// resumes only under the same one.
    public var configSHA256: String {
        var c = config
        c.train.threads = nil
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return SHA256.hex(of: (try? enc.encode(c)) ?? Data())
    }

    /// Runs the step loop to `totalSteps`: from the start, or from `resume` (a verified checkpoint of this
    /// run). Checkpoints every `checkpoint.every` steps, at the end, and when `shouldStop` turns true (checked
    /// after each step: the step finishes, a checkpoint is written, and the run returns `.interrupted`).
    public func run(resume: CheckpointInfo? = nil, shouldStop: () -> Bool = { false }, _ report: (TrainingEvent) -> Void) throws -> TrainingSummary {
        let t = config.train
        Threads.set(t.threads ?? Threads.available)
        let store = CheckpointStore(outputDirectory: config.outputDirectory)
        let configHash = configSHA256
        var state = TrainerState(
            step: 0, totalSteps: totalSteps, adamStep: 0, data: batches.state(), badSteps: 0, losses: [], validLosses: [:],
            evalsWithoutImprovement: 0, configSHA256: configHash)
        if let resume {
            state = try store.load(resume, into: model, optimizer: &optimizer)
            guard state.configSHA256 == configHash else { throw CheckpointError.configChanged(path: resume.directory.path) }
            if let d = state.data { try batches.restore(d) }
            report(.resumed(resume))
        }
        report(.started(totalSteps: totalSteps, trainExamples: trainExampleCount, validExamples: valid.count,
                        trainableParameters: model.trainableParameterCount, workspaceBytes: workspace.bytes))
        let start = DispatchTime.now()
        var rates: [Double] = []
        var lastLoss = state.losses.last ?? .nan
        var stopped: RunStopReason?
        var lastCheckpoint = resume?.step ?? -1
        let params = model.parameters, grads = model.gradients
        func checkpoint() throws {
            state.adamStep = optimizer.step
            state.data = batches.state()
            let info = try store.write(model: model, optimizer: optimizer, state: state, baseModelName: config.model)
            lastCheckpoint = state.step
            report(.checkpointed(info))
            for removed in store.prune(keep: config.checkpoint.keep, keepBest: config.checkpoint.keepBest) {
                report(.checkpointRemoved(step: removed))
            }
        }
        func evaluateNow(_ step: Int) {
            let v = evaluate()
            let best = state.bestValidLoss
            state.validLosses[step] = v
            if let best, !(v < best) { state.evalsWithoutImprovement += 1 } else { state.evalsWithoutImprovement = 0 }
            report(.evaluated(step: step, validLoss: v))
        }
        if resume == nil && !valid.isEmpty { evaluateNow(0) }
        var step = state.step
        while step < totalSteps {
            step += 1
            let t0 = DispatchTime.now()
            let micro = try (0..<t.gradAccumulation).map { _ in try batches.next() }
            let supervised = micro.reduce(0) { $0 + $1.supervisedTokens }
            model.zeroGradients()
            var total = LossTotal()
            for (m, batch) in micro.enumerated() {
                model.setDropoutSeed(t.seed &* 1_000_003 &+ UInt64(step) &* 131 &+ UInt64(m))
                total = total + model.step(batch, workspace: workspace, lossScale: 1 / Float(max(supervised, 1)), backward: true)
            }
            let loss = total.meanLoss
            let norm = GradientClipping.globalNorm(grads)
            let lr = schedule.lr(at: step - 1)
            var skipped = false
            if !loss.isFinite || !norm.isFinite {
                state.badSteps += 1
                skipped = true
                report(.warning("step \(step): non-finite \(loss.isFinite ? "gradient" : "loss"); update skipped (\(state.badSteps) in a row)"))
            } else {
                state.badSteps = 0
                if let maxNorm = t.maxGradNorm { _ = GradientClipping.clip(grads, maxNorm: maxNorm) }
                optimizer.update(params, gradients: grads, lr: lr)
                lastLoss = loss
            }
            state.step = step
            state.losses.append(loss)
            let secs = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
            let tokens = micro.reduce(0) { $0 + $1.rows * $1.seqLen }
            rates.append(Double(tokens) / secs)
            report(.step(TrainingStepMetrics(
                step: step, totalSteps: totalSteps, loss: loss, lr: lr, gradNorm: norm, tokens: tokens,
                supervisedTokens: supervised, seconds: secs, tokensPerSecond: Double(tokens) / secs,
                peakRSSBytes: peakResidentBytes(), skipped: skipped)))
            if state.badSteps >= t.maxBadSteps { throw TrainingError.tooManyBadSteps(step: step, count: state.badSteps) }
            if !valid.isEmpty && (step % config.eval.every == 0 || step == totalSteps) {
                evaluateNow(step)
                if let patience = config.eval.patience, state.evalsWithoutImprovement >= patience, step < totalSteps {
                    report(.warning("early stopping at step \(step): validation loss has not improved for \(patience) evaluations"))
                    stopped = .earlyStopping
                }
            }
            if shouldStop() && step < totalSteps { stopped = .interrupted }
            if step == totalSteps || stopped != nil || config.checkpoint.every.map({ step % $0 == 0 }) == true {
                try checkpoint()
            }
            if stopped != nil { break }
        }
        if lastCheckpoint != state.step { try checkpoint() }
        let dir = URL(fileURLWithPath: config.outputDirectory)
        if stopped != .interrupted {
            try PEFTAdapter.write(model: model, to: dir, baseModelName: config.model, extraMetadata: ["tailor.run": config.name])
        }
        let sorted = rates.dropFirst(min(2, max(0, rates.count - 1))).sorted()
        let summary = TrainingSummary(
            steps: state.step, finalLoss: lastLoss, validLosses: state.validLosses,
            medianTokensPerSecond: sorted.isEmpty ? 0 : sorted[sorted.count / 2], peakRSSBytes: peakResidentBytes(),
            adapterDirectory: dir.path,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9, stopped: stopped,
            losses: state.losses)
        report(.finished(summary))
        return summary
    }
}
