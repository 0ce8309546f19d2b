import CBLAS
import CKernels
import Foundation

/// What `LlamaInference.forward` returns logits for.
public enum LogitsRows: Sendable {
    case last, all
}

/// Errors evaluating a model on tokens.
public enum InferenceError: Error, LocalizedError, Equatable {
    case contextFull(capacity: Int, need: Int)
    case tokenOutOfRange(id: Int32, vocab: Int)

    public var errorDescription: String? {
        switch self {
        case let .contextFull(capacity, need):
            "the context holds \(capacity) tokens, \(need) needed (raise --ctx or shorten the prompt)"
        case let .tokenOutOfRange(id, vocab):
            "token id \(id) is outside the vocabulary of \(vocab)"
        }
    }
}

/// Forward-only evaluation of a frozen Llama model with a KV cache (generation, perplexity).
/// Buffers are allocated once for `maxBatch` tokens per call; longer inputs are processed in chunks.
///
/// Shapes, per chunk of T tokens: x, xn, attnOut-projected [T, d]; q [T, H·D]; k, v [T, KV·D];
/// gate, up [T, F]; scores [T, past + T] for one head at a time.
public final class LlamaInference: @unchecked Sendable {
    public let weights: LlamaWeights
    public let config: ModelConfig
    public let cache: KVCache
    public let maxBatch: Int
    let rope: RoPE
    let x, xn, q, k, v, att, tmp, gate, up: FloatBuffer
    let scores: FloatBuffer
    let scratch: FloatBuffer
    let logits: FloatBuffer
    var positions: [Int32]
    /// Norm weights as owned buffers (the frozen values, copied once).
    let attnNorms, ffnNorms: [FloatBuffer]
    let finalNorm: FloatBuffer
    /// Unmerged LoRA adapters applied on top of the frozen projections: [layer][target] → (A, B, r, s).
    var loras: [[LoRATarget: (a: FloatBuffer, b: FloatBuffer, rank: Int, scale: Float)]]
    var loraU: FloatBuffer

    public init(weights: LlamaWeights, contextLength: Int, maxBatch: Int = 256) {
        self.weights = weights
        let c = weights.config
        config = c
        self.maxBatch = maxBatch
        cache = KVCache(config: c, capacity: contextLength)
        rope = RoPE(dims: c.ropeDimensions, headDim: c.headDim, theta: c.ropeTheta, adjacentPairs: c.ropeAdjacentPairs, positions: contextLength)
        let T = maxBatch
        x = FloatBuffer(count: T * c.hiddenSize)
        xn = FloatBuffer(count: T * c.hiddenSize)
        tmp = FloatBuffer(count: T * c.hiddenSize)
        q = FloatBuffer(count: T * c.qDim)
        att = FloatBuffer(count: T * c.qDim)
        k = FloatBuffer(count: T * c.kvDim)
        v = FloatBuffer(count: T * c.kvDim)
        gate = FloatBuffer(count: T * c.intermediateSize)
        up = FloatBuffer(count: T * c.intermediateSize)
        scores = FloatBuffer(count: max(T, Threads.count) * contextLength)
        // Dequantized tile for T > 1: up to 1 Mi floats (4 MiB), at least one full row of the widest linear.
        scratch = FloatBuffer(count: max(1 << 20, c.intermediateSize * 2), zeroed: false)
        logits = FloatBuffer(count: T * c.vocabSize, zeroed: false)
        positions = [Int32](repeating: 0, count: T)
        func buffer(_ a: [Float]) -> FloatBuffer {
            let b = FloatBuffer(count: a.count)
            for (i, v) in a.enumerated() { b.pointer[i] = v }
            return b
        }
        attnNorms = weights.layers.map { buffer($0.attnNorm) }
        ffnNorms = weights.layers.map { buffer($0.ffnNorm) }
        finalNorm = buffer(weights.outputNorm)
        loras = Array(repeating: [:], count: c.layerCount)
        loraU = FloatBuffer(count: 1)
    }

    /// Applies an unmerged LoRA adapter (`tailor generate --adapter`): y = x W0ᵀ + s (x Aᵀ) Bᵀ on each
    /// adapted projection. Replaces any adapter applied before.
    public func apply(adapter: [AdapterWeights]) {
        loras = Array(repeating: [:], count: config.layerCount)
        var maxRank = 1
        for w in adapter {
            let a = FloatBuffer(count: w.a.count), b = FloatBuffer(count: w.b.count)
            for i in 0..<w.a.count { a.pointer[i] = w.a[i] }
            for i in 0..<w.b.count { b.pointer[i] = w.b[i] }
            loras[w.layer][w.target] = (a, b, w.rank, w.scale)
            maxRank = max(maxRank, w.rank)
        }
        loraU = FloatBuffer(count: maxBatch * maxRank)
    }

    /// y[T, out] += s (x Aᵀ) Bᵀ when block `l` has an adapter on `t`.
    @inline(__always)
    func addLoRA(_ l: Int, _ t: LoRATarget, x: UnsafePointer<Float>, rows T: Int, inFeatures: Int, outFeatures: Int, into y: UnsafeMutablePointer<Float>) {
        guard let ad = loras[l][t] else { return }
        sgemm(m: T, n: ad.rank, k: inFeatures, x, lda: inFeatures, ad.a.pointer, ldb: inFeatures, transB: true, loraU.pointer, ldc: ad.rank)
        sgemm(m: T, n: outFeatures, k: ad.rank, loraU.pointer, lda: ad.rank, ad.b.pointer, ldb: ad.rank, transB: true, y, ldc: outFeatures, alpha: ad.scale, beta: 1)
    }

    /// Memory this session allocates (cache + activations + logits), in bytes.
    public var allocatedBytes: Int {
        cache.bytes + 4 * [x, xn, tmp, q, att, k, v, gate, up, scores, scratch, logits].reduce(0) { $0 + $1.count }
    }

    public func reset() { cache.reset() }

    /// Logits `[tokens.count, vocab]` for every position, whatever `maxBatch` is: the input is evaluated
    /// in chunks and each chunk's rows copied out (perplexity scoring).
    public func forwardAllRows(_ tokens: [Int32]) throws -> [Float] {
        var out = [Float](repeating: 0, count: tokens.count * config.vocabSize)
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + maxBatch)
            let rows = try forward(Array(tokens[start..<end]), logits: .all)
            out.withUnsafeMutableBufferPointer { dst in
                guard let d = dst.baseAddress, let s = rows.baseAddress else { return }
                (d + start * config.vocabSize).update(from: s, count: rows.count)
            }
            start = end
        }
        return out
    }

    /// Appends `tokens` to the cache and returns logits: `[vocab]` for the last token, or
    /// `[tokens.count, vocab]` (only when `tokens.count <= maxBatch`).
    @discardableResult
    public func forward(_ tokens: [Int32], logits rows: LogitsRows = .last) throws -> UnsafeBufferPointer<Float> {
        guard cache.length + tokens.count <= cache.capacity else {
            throw InferenceError.contextFull(capacity: cache.capacity, need: cache.length + tokens.count)
        }
        for id in tokens where id < 0 || Int(id) >= config.vocabSize {
            throw InferenceError.tokenOutOfRange(id: id, vocab: config.vocabSize)
        }
        precondition(rows == .last || tokens.count <= maxBatch, "all-row logits for \(tokens.count) > \(maxBatch) tokens")
        var start = 0
        var result = UnsafeBufferPointer<Float>(start: logits.pointer, count: 0)
        while start < tokens.count {
            let end = min(tokens.count, start + maxBatch)
            let chunk = Array(tokens[start..<end])
            let isLast = end == tokens.count
            result = chunk.withUnsafeBufferPointer { evaluate($0, logits: isLast ? rows : nil) }
            start = end
        }
        return result
    }

    /// One chunk of T ≤ maxBatch tokens through all layers; logits for `rows` (nil: none).
    private func evaluate(_ tokens: UnsafeBufferPointer<Int32>, logits rows: LogitsRows?) -> UnsafeBufferPointer<Float> {
        let c = config, T = tokens.count, d = c.hiddenSize, past = cache.length
        for t in 0..<T { positions[t] = Int32(past + t) }
        weights.embed(tokens, into: x.pointer)
        for (l, layer) in weights.layers.enumerated() {
            // Attention sub-block: h = x + o_proj(attn(rmsnorm(x)))
            RMSNorm.forward(x.pointer, weight: attnNorms[l].pointer, rows: T, dim: d, eps: c.rmsNormEps, into: xn.pointer)
            if T == 1 {
                parallelFor(3) { i in
                    // Three small matvecs at once: one dispatch instead of three.
                    switch i {
                    case 0: tk_matvec(Int32(layer.q.type.rawValue), layer.q.weights, layer.q.rowBytes, 0, Int64(c.qDim), Int64(d), self.xn.pointer, self.q.pointer, TK_ISA_BEST.rawValue)
                    case 1: tk_matvec(Int32(layer.k.type.rawValue), layer.k.weights, layer.k.rowBytes, 0, Int64(c.kvDim), Int64(d), self.xn.pointer, self.k.pointer, TK_ISA_BEST.rawValue)
                    default: tk_matvec(Int32(layer.v.type.rawValue), layer.v.weights, layer.v.rowBytes, 0, Int64(c.kvDim), Int64(d), self.xn.pointer, self.v.pointer, TK_ISA_BEST.rawValue)
                    }
                }
            } else {
                layer.q.forward(xn.pointer, rows: T, into: q.pointer, scratch: scratch)
                layer.k.forward(xn.pointer, rows: T, into: k.pointer, scratch: scratch)
                layer.v.forward(xn.pointer, rows: T, into: v.pointer, scratch: scratch)
            }
            addLoRA(l, .qProj, x: xn.pointer, rows: T, inFeatures: d, outFeatures: c.qDim, into: q.pointer)
            addLoRA(l, .kProj, x: xn.pointer, rows: T, inFeatures: d, outFeatures: c.kvDim, into: k.pointer)
            addLoRA(l, .vProj, x: xn.pointer, rows: T, inFeatures: d, outFeatures: c.kvDim, into: v.pointer)
            positions.withUnsafeBufferPointer { pos in
                guard let p = pos.baseAddress else { return }
                rope.apply(q.pointer, rows: T, heads: c.headCount, ld: c.qDim, positions: p)
                rope.apply(k.pointer, rows: T, heads: c.kvHeadCount, ld: c.kvDim, positions: p)
            }
            let kc = cache.keys[l].pointer, vc = cache.values[l].pointer
            (kc + past * c.kvDim).update(from: k.pointer, count: T * c.kvDim)
            (vc + past * c.kvDim).update(from: v.pointer, count: T * c.kvDim)
            attention(T: T, past: past, keys: kc, values: vc)
            layer.o.forward(att.pointer, rows: T, into: tmp.pointer, scratch: scratch)
            addLoRA(l, .oProj, x: att.pointer, rows: T, inFeatures: c.qDim, outFeatures: d, into: tmp.pointer)
            add(tmp.pointer, into: x.pointer, count: T * d)
            // MLP sub-block: y = h + down(silu(gate(n)) * up(n)), n = rmsnorm(h)
            RMSNorm.forward(x.pointer, weight: ffnNorms[l].pointer, rows: T, dim: d, eps: c.rmsNormEps, into: xn.pointer)
            if T == 1 {
                let F = c.intermediateSize
                parallelFor(2 * Threads.count) { i in
                    let lin = i % 2 == 0 ? layer.gate : layer.up
                    let out = i % 2 == 0 ? self.gate.pointer : self.up.pointer
                    let r = splitRange(F, parts: Threads.count, index: i / 2, align: 16)
                    tk_matvec(Int32(lin.type.rawValue), lin.weights, lin.rowBytes, Int64(r.lowerBound), Int64(r.upperBound), Int64(d), self.xn.pointer, out, TK_ISA_BEST.rawValue)
                }
            } else {
                layer.gate.forward(xn.pointer, rows: T, into: gate.pointer, scratch: scratch)
                layer.up.forward(xn.pointer, rows: T, into: up.pointer, scratch: scratch)
            }
            addLoRA(l, .gateProj, x: xn.pointer, rows: T, inFeatures: d, outFeatures: c.intermediateSize, into: gate.pointer)
            addLoRA(l, .upProj, x: xn.pointer, rows: T, inFeatures: d, outFeatures: c.intermediateSize, into: up.pointer)
            swiglu(gate.pointer, up.pointer, count: T * c.intermediateSize)
            layer.down.forward(gate.pointer, rows: T, into: tmp.pointer, scratch: scratch)
            addLoRA(l, .downProj, x: gate.pointer, rows: T, inFeatures: c.intermediateSize, outFeatures: d, into: tmp.pointer)
            add(tmp.pointer, into: x.pointer, count: T * d)
        }
        cache.length = past + T
        guard let rows else { return UnsafeBufferPointer(start: logits.pointer, count: 0) }
        let first = rows == .last ? T - 1 : 0
        let n = T - first
        RMSNorm.forward(x.pointer + first * d, weight: finalNorm.pointer, rows: n, dim: d, eps: c.rmsNormEps, into: xn.pointer)
        weights.lmHead.forward(xn.pointer, rows: n, into: logits.pointer, scratch: scratch)
        return UnsafeBufferPointer(start: logits.pointer, count: n * c.vocabSize)
    }

    /// Causal grouped-query attention of T new queries over `past + T` cached positions.
    /// For head h (kv head h / (H / KV)): S = q_h K^T / sqrt(D) masked to j ≤ past + t; P = softmax(S);
    /// att_h = P V.
    private func attention(T: Int, past: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        let c = config, D = c.headDim, H = c.headCount, group = c.headCount / c.kvHeadCount
        let S = past + T
        let scale = 1 / Float(D).squareRoot()
        let qp = q.pointer, ap = att.pointer, sp = scores.pointer, ctx = cache.capacity
        let qDim = c.qDim, kvDim = c.kvDim
        if T == 1 {
            // Decode: a dot per cached position; heads split over threads.
            parallelFor(min(H, Threads.count)) { part in
                for h in splitRange(H, parts: min(H, Threads.count), index: part) {
                    let kvh = h / group
                    let qh = qp + h * D
                    let row = sp + part * ctx
                    // scores = K_g q_h · scale (a GEMV over the cached keys), softmax, att_h = V_gᵀ p.
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(S), Int32(D), scale, keys + kvh * D, Int32(kvDim), qh, 1, 0, row, 1)
                    var mx = -Float.infinity
                    for j in 0..<S { mx = max(mx, row[j]) }
                    var sum: Float = 0
                    for j in 0..<S { let e = expf(row[j] - mx); row[j] = e; sum += e }
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(S), Int32(D), 1 / sum, values + kvh * D, Int32(kvDim), row, 1, 0, ap + h * D, 1)
                }
            }
            return
        }
        for h in 0..<H {
            let kvh = h / group
            // scores[T, S] = q_h [T, D] · K_kvh[S, D]^T * scale
            sgemm(m: T, n: S, k: D, qp + h * D, lda: qDim, keys + kvh * D, ldb: kvDim, transB: true,
                  sp, ldc: S, alpha: scale)
            let parts = min(Threads.count, T)
            parallelFor(parts) { p in
                for t in splitRange(T, parts: parts, index: p) {
                    let row = sp + t * S
                    let visible = past + t + 1
                    var mx = -Float.infinity
                    for j in 0..<visible { mx = max(mx, row[j]) }
                    var sum: Float = 0
                    for j in 0..<visible { let e = expf(row[j] - mx); row[j] = e; sum += e }
                    let inv = 1 / sum
                    for j in 0..<visible { row[j] *= inv }
                    for j in visible..<S { row[j] = 0 }
                }
            }
            // att_h [T, D] = P [T, S] · V_kvh [S, D]
            sgemm(m: T, n: D, k: S, sp, lda: S, values + kvh * D, ldb: kvDim, ap + h * D, ldc: qDim)
        }
    }
}

/// y += x elementwise.
@inline(__always)
func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { y[i] += x[i] }
}

/// gate = silu(gate) * up, silu(z) = z / (1 + e^-z).
@inline(__always)
func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    let parts = n >= 1 << 14 ? Threads.count : 1
    parallelFor(parts) { p in
        for i in splitRange(n, parts: parts, index: p) {
            let z = gate[i]
            gate[i] = z / (1 + expf(-z)) * up[i]
        }
    }
}
