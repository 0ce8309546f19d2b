import Foundation

extension LoRATarget: Comparable {
    /// PEFT module path below `model.layers.{i}.`
    public var peftModule: String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj: "self_attn.\(rawValue)"
        default: "mlp.\(rawValue)"
        }
    }

    /// Position in PEFT's usual order q, k, v, o, gate, up, down.
    public var index: Int { LoRATarget.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: LoRATarget, b: LoRATarget) -> Bool { a.index < b.index }
}

/// LoRA on a frozen linear (SPEC.md §2; Hu et al. 2021, arXiv 2106.09685; PEFT `tuners/lora/layer.py`):
///
///     y = x W0^T + s · (dropout(x) A^T) B^T,   A [r, in], B [out, r], s = alpha / r (rsLoRA: alpha / √r)
///
/// A and B are trainable; W0 stays quantized and no gradient is ever formed for it. Dropout masks are
/// not stored: they are regenerated from a counter-based hash of (seed, step, adapter, element), so
/// forward and backward see the same mask and resume is exact.
public final class LoRALinear: @unchecked Sendable {
    public let base: FrozenLinear
    public let rank: Int
    public let scale: Float
    public let dropout: Float
    /// Distinguishes this adapter's dropout stream.
    public let streamId: UInt64
    public let a: Matrix       // [r, in]
    public let b: Matrix       // [out, r]
    public let gradA: Matrix   // [r, in], accumulated
    public let gradB: Matrix   // [out, r], accumulated
    /// Dropout seed for the current step (set by the trainer before each forward/backward pair).
    public var dropoutSeed: UInt64 = 0
    /// Index in the whole batch of the first input row (token) of the current pass, so a batch run in
    /// slices draws the masks it would draw in one pass.
    public var dropoutTokenOffset: Int = 0

    public init(base: FrozenLinear, rank: Int, alpha: Float, dropout: Float = 0, useRSLoRA: Bool = false, streamId: UInt64 = 0) {
        self.base = base
        self.rank = rank
        scale = useRSLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
        self.dropout = dropout
        self.streamId = streamId
        a = Matrix(rows: rank, cols: base.inFeatures)
        b = Matrix(rows: base.outFeatures, cols: rank)
        gradA = Matrix(rows: rank, cols: base.inFeatures)
        gradB = Matrix(rows: base.outFeatures, cols: rank)
    }

    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    public var parameterCount: Int { rank * (inFeatures + outFeatures) }

    /// PEFT's initialisation: A ~ Kaiming-uniform(a = √5) = U(-1/√in, 1/√in), B = 0.
    public func initialize(rng: inout SeededRNG) {
        let bound = 1 / Float(inFeatures).squareRoot()
        for i in 0..<a.count { a.data[i] = (rng.nextFloat() * 2 - 1) * bound }
        b.fill(0)
    }

    public func zeroGradients() {
        gradA.fill(0)
        gradB.fill(0)
    }

    /// Keep-probability-scaled dropout mask value for element `i` of this step: 0 or 1/(1-p).
    @inline(__always) func mask(_ i: Int) -> Float {
        var z = dropoutSeed &+ streamId &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Float(z >> 40) * (1.0 / 16_777_216.0)
        return u < dropout ? 0 : 1 / (1 - dropout)
    }

    /// xd = dropout(x) into `xd` (only when dropout > 0); returns the pointer to use as the LoRA input.
    @inline(__always) func droppedInput(_ x: UnsafePointer<Float>, rows N: Int, scratch xd: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        guard dropout > 0 else { return x }
        let n = N * inFeatures, i0 = dropoutTokenOffset * inFeatures
        for i in 0..<n { xd[i] = x[i] * mask(i0 + i) }
        return UnsafePointer(xd)
    }

    /// y[N, out] = x W0^T + s (dropout(x) A^T) B^T.   u [N, r] and xd [N, in] are scratch.
    public func forward(
        _ x: UnsafePointer<Float>, rows N: Int, into y: UnsafeMutablePointer<Float>,
        u: UnsafeMutablePointer<Float>, xd: UnsafeMutablePointer<Float>, scratch: FloatBuffer
    ) {
        base.forward(x, rows: N, into: y, scratch: scratch)
        let xin = droppedInput(x, rows: N, scratch: xd)
        sgemm(m: N, n: rank, k: inFeatures, xin, lda: inFeatures, a.data, ldb: inFeatures, transB: true, u, ldc: rank)
        sgemm(m: N, n: outFeatures, k: rank, u, lda: rank, b.data, ldb: rank, transB: true, y, ldc: outFeatures, alpha: scale, beta: 1)
    }

    // g = dL/dy [N, out];  xd = dropout(x);  u = xd A^T [N, r];  gB = g B [N, r]
    //   dB += s g^T u          [out, r]
    //   dA += s gB^T xd        [r, in]
    //   dx (+)= g W0 + s (gB A) ∘ mask   [N, in]   (no dW0, ever)
    /// Accumulates dA, dB; writes (or adds to, when `accumulate`) dx. u, gB [N, r], xd, t [N, in] are scratch.
    public func backward(
        _ g: UnsafePointer<Float>, x: UnsafePointer<Float>, rows N: Int, dx: UnsafeMutablePointer<Float>,
        accumulate: Bool, u: UnsafeMutablePointer<Float>, gB: UnsafeMutablePointer<Float>,
        xd: UnsafeMutablePointer<Float>, t: UnsafeMutablePointer<Float>, scratch: FloatBuffer
    ) {
        let xin = droppedInput(x, rows: N, scratch: xd)
        sgemm(m: N, n: rank, k: inFeatures, xin, lda: inFeatures, a.data, ldb: inFeatures, transB: true, u, ldc: rank)
        sgemm(m: outFeatures, n: rank, k: N, g, lda: outFeatures, transA: true, u, ldb: rank, gradB.data, ldc: rank, alpha: scale, beta: 1)
        sgemm(m: N, n: rank, k: outFeatures, g, lda: outFeatures, b.data, ldb: rank, gB, ldc: rank)
        sgemm(m: rank, n: inFeatures, k: N, gB, lda: rank, transA: true, xin, ldb: inFeatures, gradA.data, ldc: inFeatures, alpha: scale, beta: 1)
        base.backwardInput(g, rows: N, into: dx, accumulate: accumulate, scratch: scratch)
        if dropout > 0 {
            sgemm(m: N, n: inFeatures, k: rank, gB, lda: rank, a.data, ldb: inFeatures, t, ldc: inFeatures, alpha: scale)
            let n = N * inFeatures, i0 = dropoutTokenOffset * inFeatures
            for i in 0..<n { dx[i] += t[i] * mask(i0 + i) }
        } else {
            sgemm(m: N, n: inFeatures, k: rank, gB, lda: rank, a.data, ldb: inFeatures, dx, ldc: inFeatures, alpha: scale, beta: 1)
        }
    }
}

/// One projection of a block: the frozen linear, adapted or not.
public struct Projection: @unchecked Sendable {
    public let frozen: FrozenLinear
    public let lora: LoRALinear?

    public var inFeatures: Int { frozen.inFeatures }
    public var outFeatures: Int { frozen.outFeatures }

    public func forward(_ x: UnsafePointer<Float>, rows N: Int, into y: UnsafeMutablePointer<Float>, ws: LoRAScratch) {
        if let lora {
            lora.forward(x, rows: N, into: y, u: ws.u.pointer, xd: ws.xd.pointer, scratch: ws.tile)
        } else {
            frozen.forward(x, rows: N, into: y, scratch: ws.tile)
        }
    }

    /// dx (+)= dL/dx; LoRA parameter gradients accumulated.
    public func backward(_ g: UnsafePointer<Float>, x: UnsafePointer<Float>, rows N: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool, ws: LoRAScratch) {
        if let lora {
            lora.backward(g, x: x, rows: N, dx: dx, accumulate: accumulate, u: ws.u.pointer, gB: ws.gB.pointer, xd: ws.xd.pointer, t: ws.t.pointer, scratch: ws.tile)
        } else {
            frozen.backwardInput(g, rows: N, into: dx, accumulate: accumulate, scratch: ws.tile)
        }
    }
}

/// Scratch shared by every projection's LoRA forward/backward (sized for the widest layer).
public final class LoRAScratch: @unchecked Sendable {
    public let u, gB: FloatBuffer   // [N, r]
    public let xd, t: FloatBuffer   // [N, maxIn]
    public let tile: FloatBuffer    // dequantized weight tile
    public init(rows N: Int, rank: Int, maxIn: Int, dropout: Bool, tileFloats: Int) {
        u = FloatBuffer(count: N * max(rank, 1))
        gB = FloatBuffer(count: N * max(rank, 1))
        xd = FloatBuffer(count: dropout ? N * maxIn : 1)
        t = FloatBuffer(count: dropout ? N * maxIn : 1)
        tile = FloatBuffer(count: tileFloats, zeroed: false)
    }
    public var bytes: Int { 4 * (u.count + gB.count + xd.count + t.count + tile.count) }
}
