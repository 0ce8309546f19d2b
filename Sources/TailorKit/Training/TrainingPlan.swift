import Foundation

/// What a run will cost before it starts (`tailor plan`): parameter counts, peak memory by part and
/// seconds per step predicted from a quick SGEMM measurement on this machine.
public struct TrainingPlan: Sendable, Codable {
    public var totalParameters: Int
    public var trainableParameters: Int
    public var trainablePercent: Double
    /// Quantized weights as stored (memory-mapped; every page is touched once training starts).
    public var weightBytes: Int
    /// LoRA A and B, their gradients, AdamW's two moments: 4 Float32 copies.
    public var adapterAndOptimizerBytes: Int
    public var workspace: TrainingWorkspace.Plan
    /// Tokenized training and validation examples held in memory.
    public var dataBytes: Int
    /// Resident memory of the process before training (runtime, tokenizer, metadata), measured.
    public var baselineBytes: Int
    public var predictedPeakBytes: Int
    public var tokensPerStep: Int
    public var flopsPerStep: Double
    public var sgemmGFLOPS: Double
    public var predictedSecondsPerStep: Double

    /// FLOPs of one optimizer step: forward 2·P per token through every linear (the LM head only on
    /// supervised rows, ~all), backward 2·P more for input gradients (no weight gradients), attention
    /// 4·L·T·d per token each way, LoRA's thin products, and the forward again when checkpointing.
    public static func make(
        config: TrainingConfig, weights: LlamaWeights, trainExampleTokens: Int, validExampleTokens: Int,
        baselineBytes: Int, sgemmGFLOPS: Double
    ) -> TrainingPlan {
        let c = weights.config
        let layers = config.lora.layers.indices(layerCount: c.layerCount)
        let targets = config.lora.targets
        let r = config.lora.rank
        func dims(_ t: LoRATarget) -> (Int, Int) {
            switch t {
            case .qProj: (c.hiddenSize, c.qDim)
            case .kProj, .vProj: (c.hiddenSize, c.kvDim)
            case .oProj: (c.qDim, c.hiddenSize)
            case .gateProj, .upProj: (c.hiddenSize, c.intermediateSize)
            case .downProj: (c.intermediateSize, c.hiddenSize)
            }
        }
        let trainable = layers.count * targets.reduce(0) { let (i, o) = dims($1); return $0 + r * (i + o) }
        let total = weights.parameterCount
        let t = config.train
        let ws = TrainingWorkspace.plan(config: c, rank: r, dropout: config.lora.dropout > 0, tokens: min(t.microBatchTokens, t.batchSize * t.maxSeqLen), seqLen: t.maxSeqLen, checkpointing: t.gradCheckpoint)
        let linearParams = c.layerCount * (c.hiddenSize * (c.qDim + 2 * c.kvDim) + c.qDim * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize) + c.vocabSize * c.hiddenSize
        let tokens = t.batchSize * t.maxSeqLen * t.gradAccumulation
        let perToken = Double(linearParams) * (t.gradCheckpoint ? 6 : 4)
            + Double(c.layerCount * 8 * t.maxSeqLen * c.qDim) * (t.gradCheckpoint ? 1.5 : 1)
            + Double(trainable) * 6
        let flops = perToken * Double(tokens)
        let adapterBytes = 4 * 4 * trainable
        let data = 5 * (trainExampleTokens + validExampleTokens)  // Int32 token + Bool mask
        let peak = baselineBytes + weights.storedBytes + adapterBytes + ws.total + data
        return TrainingPlan(
            totalParameters: total, trainableParameters: trainable,
            trainablePercent: 100 * Double(trainable) / Double(max(total, 1)), weightBytes: weights.storedBytes,
            adapterAndOptimizerBytes: adapterBytes, workspace: ws, dataBytes: data, baselineBytes: baselineBytes,
            predictedPeakBytes: peak, tokensPerStep: tokens, flopsPerStep: flops, sgemmGFLOPS: sgemmGFLOPS,
            predictedSecondsPerStep: flops / (sgemmGFLOPS * 1e9))
    }

    /// Measured SGEMM throughput on this machine at a transformer-like shape ([512, 576] × [576, 1536]),
    /// median of 5, in GFLOP/s.
    public static func measureSGEMM(m: Int = 512, k: Int = 576, n: Int = 1536) -> Double {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: n * k), out = FloatBuffer(count: m * n)
        for i in 0..<a.count { a.pointer[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b.pointer[i] = Float(i % 5) * 0.01 }
        var times: [Double] = []
        for _ in 0..<6 {
            let t0 = DispatchTime.now()
            sgemm(m: m, n: n, k: k, a.pointer, lda: k, b.pointer, ldb: k, transB: true, out.pointer, ldc: n)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9)
        }
        let sorted = times.dropFirst().sorted()
        return 2 * Double(m * n * k) / sorted[sorted.count / 2] / 1e9
    }
}

/// Current resident set size of this process in bytes (/proc/self/statm).
public func currentResidentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let parts = s.split(separator: " ")
    guard parts.count > 1, let pages = Int(parts[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
