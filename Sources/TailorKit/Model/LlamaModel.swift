import CKernels
import Foundation

/// Where LoRA adapters go and how they are shaped (SPEC.md §2).
public struct LoRASettings: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: [LoRATarget]
    /// Block indices that get adapters.
    public var layers: [Int]
    public var useRSLoRA: Bool

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [LoRATarget] = [.qProj, .vProj], layers: [Int], useRSLoRA: Bool = false) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.layers = layers
        self.useRSLoRA = useRSLoRA
    }
}

/// A batch of token rows for training or evaluation: `rows × seqLen` tokens, right-padded.
/// `labels[i]` is the token position i must predict (inputs shifted by one), −1 where nothing is
/// supervised (prompt, padding, the last position). `positions` are RoPE positions and `segmentStart[i]`
/// the first position i may attend to (both reset at packed-example boundaries).
public struct TrainingBatch: Sendable {
    public var rows: Int
    public var seqLen: Int
    public var tokens: [Int32]
    public var labels: [Int32]
    public var positions: [Int32]
    public var segmentStart: [Int32]

    public init(rows: Int, seqLen: Int, tokens: [Int32], labels: [Int32], positions: [Int32]? = nil, segmentStart: [Int32]? = nil) {
        precondition(tokens.count == rows * seqLen && labels.count == rows * seqLen, "batch \(rows)x\(seqLen): \(tokens.count) tokens, \(labels.count) labels")
        self.rows = rows
        self.seqLen = seqLen
        self.tokens = tokens
        self.labels = labels
        self.positions = positions ?? (0..<rows * seqLen).map { Int32($0 % seqLen) }
        self.segmentStart = segmentStart ?? [Int32](repeating: 0, count: rows * seqLen)
    }

    /// Tokens whose prediction is scored.
    public var supervisedTokens: Int { labels.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    /// Rows `range` of this batch.
    public func slice(rows range: Range<Int>) -> TrainingBatch {
        let t = range.lowerBound * seqLen..<range.upperBound * seqLen
        return TrainingBatch(
            rows: range.count, seqLen: seqLen, tokens: Array(tokens[t]), labels: Array(labels[t]),
            positions: Array(positions[t]), segmentStart: Array(segmentStart[t]))
    }
}

/// One Llama block's frozen norms and its seven projections (some adapted).
public struct LlamaBlock: @unchecked Sendable {
    public let attnNorm: FloatBuffer  // [d]
    public let ffnNorm: FloatBuffer   // [d]
    public let q, k, v, o, gate, up, down: Projection
}

/// The trainable model: a frozen quantized Llama (SPEC.md §1) with LoRA adapters, and the hand-written
/// forward and backward passes over a batch. Activation gradients flow through the frozen base;
/// parameter gradients exist only for the adapters.
public final class LlamaModel: @unchecked Sendable {
    public let weights: LlamaWeights
    public let config: ModelConfig
    public let lora: LoRASettings
    public let blocks: [LlamaBlock]
    /// Every adapter, block-major, in `LoRATarget` order within a block.
    public let adapters: [(layer: Int, target: LoRATarget, lora: LoRALinear)]
    public let outputNorm: FloatBuffer
    let attention: CausalAttention
    let rope: RoPE

    public init(weights: LlamaWeights, lora: LoRASettings, seed: UInt64 = 0) {
        self.weights = weights
        let c = weights.config
        config = c
        self.lora = lora
        attention = CausalAttention(heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim)
        rope = RoPE(dims: c.ropeDimensions, headDim: c.headDim, theta: c.ropeTheta, adjacentPairs: c.ropeAdjacentPairs, positions: 0)
        func buffer(_ a: [Float]) -> FloatBuffer {
            let b = FloatBuffer(count: a.count)
            for (i, v) in a.enumerated() { b.pointer[i] = v }
            return b
        }
        outputNorm = buffer(weights.outputNorm)
        var adapters: [(Int, LoRATarget, LoRALinear)] = []
        let adapted = Set(lora.layers)
        var rng = SeededRNG(seed: seed)
        blocks = weights.layers.enumerated().map { (l, w) in
            func proj(_ f: FrozenLinear, _ t: LoRATarget) -> Projection {
                guard adapted.contains(l), lora.targets.contains(t) else { return Projection(frozen: f, lora: nil) }
                let a = LoRALinear(base: f, rank: lora.rank, alpha: lora.alpha, dropout: lora.dropout, useRSLoRA: lora.useRSLoRA, streamId: UInt64(l * 16 + t.index))
                a.initialize(rng: &rng)
                adapters.append((l, t, a))
                return Projection(frozen: f, lora: a)
            }
            return LlamaBlock(
                attnNorm: buffer(w.attnNorm), ffnNorm: buffer(w.ffnNorm),
                q: proj(w.q, .qProj), k: proj(w.k, .kProj), v: proj(w.v, .vProj), o: proj(w.o, .oProj),
                gate: proj(w.gate, .gateProj), up: proj(w.up, .upProj), down: proj(w.down, .downProj))
        }
        self.adapters = adapters.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { (layer: $0.0, target: $0.1, lora: $0.2) }
    }

    public var trainableParameterCount: Int { adapters.reduce(0) { $0 + $1.lora.parameterCount } }

    /// Parameters and their gradients, in `adapters` order (A then B for each adapter).
    public var parameters: [Matrix] { adapters.flatMap { [$0.lora.a, $0.lora.b] } }
    public var gradients: [Matrix] { adapters.flatMap { [$0.lora.gradA, $0.lora.gradB] } }

    public func zeroGradients() { for a in adapters { a.lora.zeroGradients() } }

    /// Sets the dropout stream of every adapter for one micro-step.
    public func setDropoutSeed(_ seed: UInt64) { for a in adapters { a.lora.dropoutSeed = seed } }

    /// The index in the whole batch of the first token of the slice being run (dropout masks are keyed by it).
    func setDropoutTokenOffset(_ offset: Int) { for a in adapters { a.lora.dropoutTokenOffset = offset } }
}

/// Activations saved by the forward pass for the backward pass, and all scratch, for a token budget.
/// Built once per (tokens, seqLen) and reused every step: no allocation inside forward/backward.
///
/// Per block (N = `tokens`, whole rows of up to `seqLen`): x, h [N, d] (block input, mid-block residual);
/// q, k, v after RoPE [N, H·D], [N, KV·D]; att [N, H·D] (attention output); gate, up [N, F]; lse [N, H];
/// r1, r2 [N] (RMSNorm reciprocal RMS). With gradient checkpointing only x is kept per block and one
/// block's set is recomputed at a time during backward.
///
/// Activation memory is proportional to N, not to the batch: `LlamaModel.step` runs a batch of more
/// tokens as consecutive slices of whole rows (a micro-batch each, `train.micro_batch_tokens`), whose
/// adapter gradients add up to the batch's, as gradient accumulation does.
public final class TrainingWorkspace: @unchecked Sendable {
    /// Token capacity: the most tokens one forward/backward pass holds (whole rows).
    public let tokens: Int
    /// The longest row.
    public let seqLen: Int
    public let checkpointing: Bool
    struct Saved {
        let x, h, q, k, v, att, gate, up, lse, r1, r2: FloatBuffer
    }
    let inputs: [FloatBuffer]   // x per block (+ final hidden)
    let saved: [Saved]          // per block, or one shared set when checkpointing
    let xn, tmp, act, dx, dh, dxn, dq, dk, dv, datt, dact, dgate, dup: FloatBuffer
    let s, dp: FloatBuffer      // [T, T]
    let rf: FloatBuffer         // final norm rstd [N]
    let loraScratch: LoRAScratch
    let crossEntropy: ChunkedCrossEntropy

    /// A workspace for batches of up to `rows` rows of `seqLen` tokens in one pass.
    public convenience init(model: LlamaModel, rows: Int, seqLen: Int, checkpointing: Bool = false, lossChunkRows: Int = 256) {
        self.init(model: model, tokens: rows * seqLen, seqLen: seqLen, checkpointing: checkpointing, lossChunkRows: lossChunkRows)
    }

    /// A workspace holding `capacity(tokens:seqLen:)` tokens: `tokens` rounded down to whole rows of
    /// `seqLen`, at least one row.
    public init(model: LlamaModel, tokens: Int, seqLen: Int, checkpointing: Bool = false, lossChunkRows: Int = 256) {
        let N = Self.capacity(tokens: tokens, seqLen: seqLen)
        self.tokens = N
        self.seqLen = seqLen
        self.checkpointing = checkpointing
        let c = model.config, d = c.hiddenSize, F = c.intermediateSize
        // Not zero-filled: every buffer is written before it is read, and untouched pages (rows beyond
        // the current batch's padded length) then cost no resident memory.
        func f(_ n: Int) -> FloatBuffer { FloatBuffer(count: n, zeroed: false) }
        func set() -> Saved {
            Saved(x: f(0), h: f(N * d), q: f(N * c.qDim), k: f(N * c.kvDim), v: f(N * c.kvDim), att: f(N * c.qDim),
                  gate: f(N * F), up: f(N * F), lse: f(N * c.headCount), r1: f(N), r2: f(N))
        }
        inputs = (0...c.layerCount).map { _ in f(N * d) }
        saved = checkpointing ? [set()] : (0..<c.layerCount).map { _ in set() }
        xn = f(N * d); tmp = f(N * d); act = f(N * F)
        dx = f(N * d); dh = f(N * d); dxn = f(N * d)
        dq = f(N * c.qDim); dk = f(N * c.kvDim); dv = f(N * c.kvDim); datt = f(N * c.qDim)
        dact = f(N * F); dgate = f(N * F); dup = f(N * F)
        s = f(seqLen * seqLen); dp = f(seqLen * seqLen)
        rf = f(N)
        let maxIn = max(d, F, c.qDim)
        let tileFloats = max(1 << 20, F * 2)
        loraScratch = LoRAScratch(rows: N, rank: model.lora.rank, maxIn: maxIn, dropout: model.lora.dropout > 0, tileFloats: tileFloats)
        crossEntropy = ChunkedCrossEntropy(head: model.weights.lmHead, chunkRows: min(lossChunkRows, N), tile: loraScratch.tile)
        model.rope.reserve(seqLen)
    }

    /// Tokens a workspace built for `tokens` and rows of up to `seqLen` holds: whole rows, at least one.
    public static func capacity(tokens: Int, seqLen: Int) -> Int { max(1, tokens / max(seqLen, 1)) * seqLen }

    /// Rows of `seqLen` tokens one pass over this workspace takes (a batch of more rows runs in slices).
    public func rowsPerPass(seqLen rowLength: Int) -> Int { max(1, tokens / max(rowLength, 1)) }

    /// Bytes this workspace holds (activations, gradients, scratch, loss buffers).
    public var bytes: Int {
        let savedBytes = saved.reduce(0) { t, s in t + 4 * [s.h, s.q, s.k, s.v, s.att, s.gate, s.up, s.lse, s.r1, s.r2].reduce(0) { $0 + $1.count } }
        let others = [xn, tmp, act, dx, dh, dxn, dq, dk, dv, datt, dact, dgate, dup, s, dp, rf].reduce(0) { $0 + $1.count }
        return savedBytes + 4 * inputs.reduce(0) { $0 + $1.count } + 4 * others + loraScratch.bytes + crossEntropy.bytes
    }

    /// What a workspace of this shape will hold, by part, without allocating it (`tailor plan`).
    /// Mirrors `init`; a test keeps the two equal.
    public struct Plan: Sendable, Codable, Equatable {
        /// Activations saved for backward (all blocks, or one block plus every block input when checkpointing).
        public var savedActivations: Int
        /// Gradient and recompute buffers of one block, attention scores, LoRA scratch and the dequantized tile.
        public var scratch: Int
        /// Logits chunk and gathered rows of the chunked cross-entropy.
        public var lossChunk: Int
        public var total: Int { savedActivations + scratch + lossChunk }
    }

    public static func plan(config c: ModelConfig, rank: Int, dropout: Bool, tokens: Int, seqLen: Int, checkpointing: Bool, lossChunkRows: Int = 256) -> Plan {
        let N = capacity(tokens: tokens, seqLen: seqLen), d = c.hiddenSize, F = c.intermediateSize
        let perBlock = N * d + 2 * N * c.qDim + 2 * N * c.kvDim + 2 * N * F + N * c.headCount + 2 * N
        let saved = (checkpointing ? 1 : c.layerCount) * perBlock + (c.layerCount + 1) * N * d
        let others = 5 * N * d + 2 * N * c.qDim + 2 * N * c.kvDim + 4 * N * F + 2 * seqLen * seqLen + N
        let maxIn = max(d, F, c.qDim)
        let loraScratch = 2 * N * max(rank, 1) + (dropout ? 2 * N * maxIn : 2) + max(1 << 20, F * 2)
        let chunk = min(lossChunkRows, N)
        let loss = chunk * c.vocabSize + 2 * chunk * d
        return Plan(savedActivations: 4 * saved, scratch: 4 * (others + loraScratch), lossChunk: 4 * loss)
    }
}

extension LlamaModel {
    /// Runs block `l` forward from `ws.inputs[l]` into `ws.inputs[l + 1]`, saving into `sv`.
    func blockForward(_ l: Int, batch: TrainingBatch, ws: TrainingWorkspace, saved sv: TrainingWorkspace.Saved) {
        let c = config, N = batch.rows * batch.seqLen, d = c.hiddenSize, blk = blocks[l]
        let x = ws.inputs[l].pointer, out = ws.inputs[l + 1].pointer
        let sc = ws.loraScratch
        // h = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))),  n1 = rmsnorm(x) w_attn
        RMSNorm.forward(x, weight: blk.attnNorm.pointer, rows: N, dim: d, eps: c.rmsNormEps, into: ws.xn.pointer, rstd: sv.r1.pointer)
        blk.q.forward(ws.xn.pointer, rows: N, into: sv.q.pointer, ws: sc)
        blk.k.forward(ws.xn.pointer, rows: N, into: sv.k.pointer, ws: sc)
        blk.v.forward(ws.xn.pointer, rows: N, into: sv.v.pointer, ws: sc)
        batch.positions.withUnsafeBufferPointer { pos in
            guard let p = pos.baseAddress else { return }
            rope.apply(sv.q.pointer, rows: N, heads: c.headCount, ld: c.qDim, positions: p)
            rope.apply(sv.k.pointer, rows: N, heads: c.kvHeadCount, ld: c.kvDim, positions: p)
        }
        batch.segmentStart.withUnsafeBufferPointer { seg in
            guard let sp = seg.baseAddress else { return }
            attention.forward(q: sv.q.pointer, k: sv.k.pointer, v: sv.v.pointer, rows: batch.rows, seqLen: batch.seqLen, segmentStart: sp, out: sv.att.pointer, lse: sv.lse.pointer, scratch: ws.s.pointer)
        }
        blk.o.forward(sv.att.pointer, rows: N, into: ws.tmp.pointer, ws: sc)
        let h = sv.h.pointer
        for i in 0..<N * d { h[i] = x[i] + ws.tmp.pointer[i] }
        // out = h + down(silu(gate(n2)) ∘ up(n2)),  n2 = rmsnorm(h) w_ffn
        RMSNorm.forward(h, weight: blk.ffnNorm.pointer, rows: N, dim: d, eps: c.rmsNormEps, into: ws.xn.pointer, rstd: sv.r2.pointer)
        blk.gate.forward(ws.xn.pointer, rows: N, into: sv.gate.pointer, ws: sc)
        blk.up.forward(ws.xn.pointer, rows: N, into: sv.up.pointer, ws: sc)
        SwiGLU.forward(gate: sv.gate.pointer, up: sv.up.pointer, into: ws.act.pointer, count: N * c.intermediateSize)
        blk.down.forward(ws.act.pointer, rows: N, into: ws.tmp.pointer, ws: sc)
        for i in 0..<N * d { out[i] = h[i] + ws.tmp.pointer[i] }
    }

    // Block backward, given g = dL/d(out) in ws.dx; writes dL/dx into ws.dx.
    //   out = h + y2:        dh = g, dy2 = g
    //   y2 = down(a):        da = down⁺(dy2)                (⁺: frozen + LoRA input gradient; dA, dB accumulate)
    //   a = silu(gt) ∘ u:    dgt, du = SwiGLU.backward(da)
    //   gt, u = gate(n2), up(n2):  dn2 = gate⁺(dgt) + up⁺(du)
    //   n2 = rmsnorm(h):     dh += RMSNorm.backward(dn2)
    //   h = x + y1:          dx = dh, dy1 = dh
    //   y1 = o(att):         datt = o⁺(dy1)
    //   att = attn(q, k, v): dq, dk, dv = CausalAttention.backward(datt); dq, dk rotated back (RoPE⁻¹)
    //   q, k, v = proj(n1):  dn1 = q⁺(dq) + k⁺(dk) + v⁺(dv)
    //   n1 = rmsnorm(x):     dx += RMSNorm.backward(dn1)
    func blockBackward(_ l: Int, batch: TrainingBatch, ws: TrainingWorkspace, saved sv: TrainingWorkspace.Saved) {
        let c = config, N = batch.rows * batch.seqLen, d = c.hiddenSize, F = c.intermediateSize, blk = blocks[l]
        let x = ws.inputs[l].pointer, sc = ws.loraScratch
        // MLP
        let g = ws.dx.pointer
        SwiGLU.forward(gate: sv.gate.pointer, up: sv.up.pointer, into: ws.act.pointer, count: N * F)
        blk.down.backward(g, x: ws.act.pointer, rows: N, dx: ws.dact.pointer, accumulate: false, ws: sc)
        SwiGLU.backward(ws.dact.pointer, gate: sv.gate.pointer, up: sv.up.pointer, dGate: ws.dgate.pointer, dUp: ws.dup.pointer, count: N * F)
        RMSNorm.forward(sv.h.pointer, weight: blk.ffnNorm.pointer, rows: N, dim: d, eps: c.rmsNormEps, into: ws.xn.pointer)
        blk.gate.backward(ws.dgate.pointer, x: ws.xn.pointer, rows: N, dx: ws.dxn.pointer, accumulate: false, ws: sc)
        blk.up.backward(ws.dup.pointer, x: ws.xn.pointer, rows: N, dx: ws.dxn.pointer, accumulate: true, ws: sc)
        ws.dh.pointer.update(from: g, count: N * d)
        RMSNorm.backward(ws.dxn.pointer, x: sv.h.pointer, weight: blk.ffnNorm.pointer, rstd: sv.r2.pointer, rows: N, dim: d, into: ws.dh.pointer, accumulate: true)
        // Attention
        blk.o.backward(ws.dh.pointer, x: sv.att.pointer, rows: N, dx: ws.datt.pointer, accumulate: false, ws: sc)
        batch.segmentStart.withUnsafeBufferPointer { seg in
            guard let sp = seg.baseAddress else { return }
            attention.backward(dOut: ws.datt.pointer, q: sv.q.pointer, k: sv.k.pointer, v: sv.v.pointer, out: sv.att.pointer, lse: sv.lse.pointer, rows: batch.rows, seqLen: batch.seqLen, segmentStart: sp, dq: ws.dq.pointer, dk: ws.dk.pointer, dv: ws.dv.pointer, scratchS: ws.s.pointer, scratchDP: ws.dp.pointer)
        }
        batch.positions.withUnsafeBufferPointer { pos in
            guard let p = pos.baseAddress else { return }
            rope.apply(ws.dq.pointer, rows: N, heads: c.headCount, ld: c.qDim, positions: p, inverse: true)
            rope.apply(ws.dk.pointer, rows: N, heads: c.kvHeadCount, ld: c.kvDim, positions: p, inverse: true)
        }
        RMSNorm.forward(x, weight: blk.attnNorm.pointer, rows: N, dim: d, eps: c.rmsNormEps, into: ws.xn.pointer)
        blk.q.backward(ws.dq.pointer, x: ws.xn.pointer, rows: N, dx: ws.dxn.pointer, accumulate: false, ws: sc)
        blk.k.backward(ws.dk.pointer, x: ws.xn.pointer, rows: N, dx: ws.dxn.pointer, accumulate: true, ws: sc)
        blk.v.backward(ws.dv.pointer, x: ws.xn.pointer, rows: N, dx: ws.dxn.pointer, accumulate: true, ws: sc)
        ws.dx.pointer.update(from: ws.dh.pointer, count: N * d)
        RMSNorm.backward(ws.dxn.pointer, x: x, weight: blk.attnNorm.pointer, rstd: sv.r1.pointer, rows: N, dim: d, into: ws.dx.pointer, accumulate: true)
    }

    /// Forward through every block (saving what backward needs), the final norm, and the chunked loss.
    /// With `backward`, propagates `lossScale · dL/d(logits)` back through every block, accumulating adapter
    /// gradients. Returns the summed NLL and the number of supervised tokens.
    ///
    /// A batch of more tokens than the workspace holds runs as consecutive slices of whole rows. Rows never
    /// see each other (attention is per row), the loss is a sum over rows scaled by `lossScale`, and adapter
    /// gradients accumulate, so the result is the whole batch's up to Float32 summation order; dropout
    /// masks are keyed by the token's index in the whole batch, so they are the same too.
    @discardableResult
    public func step(_ batch: TrainingBatch, workspace ws: TrainingWorkspace, lossScale: Float, backward: Bool) -> LossTotal {
        precondition(batch.seqLen <= ws.seqLen, "batch rows of \(batch.seqLen) tokens exceed the workspace's \(ws.seqLen)")
        let perPass = ws.rowsPerPass(seqLen: batch.seqLen)
        guard batch.rows > perPass else {
            setDropoutTokenOffset(0)
            return pass(batch, workspace: ws, lossScale: lossScale, backward: backward)
        }
        var total = LossTotal()
        var r0 = 0
        while r0 < batch.rows {
            let r1 = min(batch.rows, r0 + perPass)
            setDropoutTokenOffset(r0 * batch.seqLen)
            total = total + pass(batch.slice(rows: r0..<r1), workspace: ws, lossScale: lossScale, backward: backward)
            r0 = r1
        }
        setDropoutTokenOffset(0)
        return total
    }

    /// One forward (and backward) pass over a batch that fits the workspace.
    func pass(_ batch: TrainingBatch, workspace ws: TrainingWorkspace, lossScale: Float, backward: Bool) -> LossTotal {
        precondition(batch.rows * batch.seqLen <= ws.tokens, "batch \(batch.rows)x\(batch.seqLen) exceeds the workspace's \(ws.tokens) tokens")
        let c = config, N = batch.rows * batch.seqLen, d = c.hiddenSize, L = c.layerCount
        batch.tokens.withUnsafeBufferPointer { weights.embed($0, into: ws.inputs[0].pointer) }
        for l in 0..<L { blockForward(l, batch: batch, ws: ws, saved: ws.saved[ws.checkpointing ? 0 : l]) }
        let final = ws.inputs[L].pointer
        RMSNorm.forward(final, weight: outputNorm.pointer, rows: N, dim: d, eps: c.rmsNormEps, into: ws.xn.pointer, rstd: ws.rf.pointer)
        let result = batch.labels.withUnsafeBufferPointer { labels -> LossTotal in
            guard let lp = labels.baseAddress else { return LossTotal() }
            return ws.crossEntropy.evaluate(hidden: ws.xn.pointer, labels: lp, rows: N, scale: lossScale, dHidden: backward ? ws.dxn.pointer : nil)
        }
        guard backward else { return result }
        RMSNorm.backward(ws.dxn.pointer, x: final, weight: outputNorm.pointer, rstd: ws.rf.pointer, rows: N, dim: d, into: ws.dx.pointer, accumulate: false)
        // Below the lowest adapted block no parameter has a gradient: the backward pass stops there
        // (as autograd does when nothing below requires grad).
        let lowest = adapters.first?.layer ?? L
        for l in stride(from: L - 1, through: lowest, by: -1) {
            let sv = ws.saved[ws.checkpointing ? 0 : l]
            if ws.checkpointing {
                // Recompute this block's activations from its saved input; inputs[l + 1] is not needed
                // any more (its gradient is in ws.dx), so the recomputed output may overwrite it.
                blockForward(l, batch: batch, ws: ws, saved: sv)
            }
            blockBackward(l, batch: batch, ws: ws, saved: sv)
        }
        return result
    }
}
