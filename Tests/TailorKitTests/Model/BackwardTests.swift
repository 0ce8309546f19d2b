import XCTest

@testable import TailorKit

/// Finite-difference checks of every backward (STYLE.md §2): loss = Σ y ∘ R with a fixed random R, central
/// differences on small random shapes. Float32 central differences with step h carry a rounding error of
/// about ε·|L|/h and a truncation error O(h²); with h = 1e-2 and |L| ≲ 10 that is ≲ 1e-4 absolute, so each
/// check allows 2e-3 absolute + 2 % relative, far below the size of a wrong term.
final class BackwardTests: XCTestCase {
    var rng = TestRNG(seed: 11)

    func randn(_ n: Int, _ s: Float = 1) -> [Float] { (0..<n).map { _ in rng.normal() * s } }

    /// Central difference of `loss` with respect to `x[i]` for each i.
    func numericGradient(_ x: inout [Float], h: Float = 1e-2, _ loss: ([Float]) -> Double) -> [Float] {
        var g = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let old = x[i]
            x[i] = old + h
            let lp = loss(x)
            x[i] = old - h
            let lm = loss(x)
            x[i] = old
            g[i] = Float((lp - lm) / Double(2 * h))
        }
        return g
    }

    func dot(_ a: UnsafePointer<Float>, _ b: [Float]) -> Double {
        var s = 0.0
        for i in 0..<b.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    func testRMSNormBackward() {
        let T = 3, d = 8
        var x = randn(T * d)
        let w = randn(d), R = randn(T * d)
        let y = FloatBuffer(count: T * d), r = FloatBuffer(count: T), dx = FloatBuffer(count: T * d)
        let loss = { (x: [Float]) -> Double in
            RMSNorm.forward(x, weight: w, rows: T, dim: d, eps: 1e-5, into: y.pointer, rstd: r.pointer)
            return self.dot(y.pointer, R)
        }
        _ = loss(x)
        RMSNorm.backward(R, x: x, weight: w, rstd: r.pointer, rows: T, dim: d, into: dx.pointer, accumulate: false)
        let analytic = Array(dx.buffer)
        assertClose(analytic, numericGradient(&x, loss), atol: 2e-3, rtol: 2e-2, "rmsnorm dx")
    }

    func testSwiGLUBackward() {
        let n = 20
        var g = randn(n, 2), u = randn(n)
        let R = randn(n)
        let a = FloatBuffer(count: n), dg = FloatBuffer(count: n), du = FloatBuffer(count: n)
        SwiGLU.backward(R, gate: g, up: u, dGate: dg.pointer, dUp: du.pointer, count: n)
        let (adg, adu) = (Array(dg.buffer), Array(du.buffer))
        let gFixedU = u
        assertClose(adg, numericGradient(&g) { g in SwiGLU.forward(gate: g, up: gFixedU, into: a.pointer, count: n); return self.dot(a.pointer, R) }, atol: 2e-3, rtol: 2e-2, "swiglu dgate")
        let uFixedG = g
        assertClose(adu, numericGradient(&u) { u in SwiGLU.forward(gate: uFixedG, up: u, into: a.pointer, count: n); return self.dot(a.pointer, R) }, atol: 2e-3, rtol: 2e-2, "swiglu dup")
    }

    func testRoPEInverseIsTheTranspose() {
        // RoPE is a rotation: its backward is the inverse rotation, so <rope(x), y> = <x, rope⁻¹(y)>.
        for adjacent in [true, false] {
            let rope = RoPE(dims: 8, headDim: 8, theta: 10000, adjacentPairs: adjacent, positions: 16)
            let T = 4, H = 2, ld = 16
            let x = randn(T * ld), y = randn(T * ld)
            let pos: [Int32] = [0, 3, 7, 15]
            let rx = FloatBuffer(count: T * ld), ry = FloatBuffer(count: T * ld)
            for i in 0..<x.count { rx.pointer[i] = x[i]; ry.pointer[i] = y[i] }
            rope.apply(rx.pointer, rows: T, heads: H, ld: ld, positions: pos)
            rope.apply(ry.pointer, rows: T, heads: H, ld: ld, positions: pos, inverse: true)
            XCTAssertEqual(dot(rx.pointer, y), dot(ry.pointer, x), accuracy: 1e-4)
        }
    }

    /// Causal GQA attention with a packed row (segment boundary at position 3).
    func testAttentionBackward() {
        let B = 2, T = 5, H = 4, KV = 2, D = 3
        let attn = CausalAttention(heads: H, kvHeads: KV, headDim: D)
        var q = randn(B * T * H * D), k = randn(B * T * KV * D), v = randn(B * T * KV * D)
        let R = randn(B * T * H * D)
        let seg: [Int32] = [0, 0, 0, 3, 3] + [0, 0, 0, 0, 0]
        let o = FloatBuffer(count: B * T * H * D), lse = FloatBuffer(count: B * H * T), s = FloatBuffer(count: T * T), dp = FloatBuffer(count: T * T)
        let dq = FloatBuffer(count: q.count), dk = FloatBuffer(count: k.count), dv = FloatBuffer(count: v.count)
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            attn.forward(q: q, k: k, v: v, rows: B, seqLen: T, segmentStart: seg, out: o.pointer, lse: lse.pointer, scratch: s.pointer)
            return dot(o.pointer, R)
        }
        _ = loss(q, k, v)
        attn.backward(dOut: R, q: q, k: k, v: v, out: o.pointer, lse: lse.pointer, rows: B, seqLen: T, segmentStart: seg, dq: dq.pointer, dk: dk.pointer, dv: dv.pointer, scratchS: s.pointer, scratchDP: dp.pointer)
        let (aq, ak, av) = (Array(dq.buffer), Array(dk.buffer), Array(dv.buffer))
        let (k0, v0, q0) = (k, v, q)
        assertClose(aq, numericGradient(&q) { loss($0, k0, v0) }, atol: 2e-3, rtol: 2e-2, "attention dq")
        assertClose(ak, numericGradient(&k) { loss(q0, $0, v0) }, atol: 2e-3, rtol: 2e-2, "attention dk")
        assertClose(av, numericGradient(&v) { loss(q0, k0, $0) }, atol: 2e-3, rtol: 2e-2, "attention dv")
        // The packed segment really is isolated: the output at position 3 ignores positions 0-2.
        let before = Array(o.buffer)
        var k2 = k0
        for i in 0..<(3 * KV * D) { k2[i] += 1 }
        _ = loss(q0, k2, v0)
        for i in (3 * H * D)..<(5 * H * D) { XCTAssertEqual(o.pointer[i], before[i], accuracy: 1e-6) }
    }

    /// Longer than one causal block (CausalAttention.block = 64): the blocked lower-triangle products and
    /// a packed boundary inside the third block.
    func testAttentionBackwardAcrossBlocks() {
        let B = 1, T = 150, H = 2, KV = 1, D = 3
        let attn = CausalAttention(heads: H, kvHeads: KV, headDim: D)
        var q = randn(B * T * H * D), k = randn(B * T * KV * D), v = randn(B * T * KV * D)
        let R = randn(B * T * H * D)
        let seg: [Int32] = (0..<T).map { $0 < 140 ? 0 : 140 }
        let o = FloatBuffer(count: B * T * H * D), lse = FloatBuffer(count: B * H * T), s = FloatBuffer(count: T * T), dp = FloatBuffer(count: T * T)
        let dq = FloatBuffer(count: q.count), dk = FloatBuffer(count: k.count), dv = FloatBuffer(count: v.count)
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            attn.forward(q: q, k: k, v: v, rows: B, seqLen: T, segmentStart: seg, out: o.pointer, lse: lse.pointer, scratch: s.pointer)
            return dot(o.pointer, R)
        }
        _ = loss(q, k, v)
        // Poison the scratch so anything read without being computed shows up as NaN.
        dp.pointer.update(repeating: .nan, count: T * T)
        attn.backward(dOut: R, q: q, k: k, v: v, out: o.pointer, lse: lse.pointer, rows: B, seqLen: T, segmentStart: seg, dq: dq.pointer, dk: dk.pointer, dv: dv.pointer, scratchS: s.pointer, scratchDP: dp.pointer)
        let (aq, ak, av) = (Array(dq.buffer), Array(dk.buffer), Array(dv.buffer))
        let (k0, v0, q0) = (k, v, q)
        assertClose(aq, numericGradient(&q) { loss($0, k0, v0) }, atol: 2e-3, rtol: 2e-2, "blocked attention dq")
        assertClose(ak, numericGradient(&k) { loss(q0, $0, v0) }, atol: 2e-3, rtol: 2e-2, "blocked attention dk")
        assertClose(av, numericGradient(&v) { loss(q0, k0, $0) }, atol: 2e-3, rtol: 2e-2, "blocked attention dv")
    }

    /// LoRA over a frozen F32 linear, with and without dropout.
    func testLoRALinearBackward() throws {
        for dropout: Float in [0, 0.3] {
            let N = 3, inF = 32, outF = 8, r = 4
            var wdata = GGUFWriter()
            wdata.add("w", shape: [outF, inF], floats: randn(outF * inF, 0.5))
            let file = try GGUFFile(bytes: wdata.bytes())
            let t = try file.requireTensor("w")
            let base = FrozenLinear(name: "w", type: .f32, outFeatures: outF, inFeatures: inF, weights: file.data(of: t))
            let lora = LoRALinear(base: base, rank: r, alpha: 8, dropout: dropout, streamId: 5)
            lora.dropoutSeed = 77
            var A = randn(r * inF, 0.3), Bm = randn(outF * r, 0.3), x = randn(N * inF)
            let R = randn(N * outF)
            let y = FloatBuffer(count: N * outF), u = FloatBuffer(count: N * r), gB = FloatBuffer(count: N * r)
            let xd = FloatBuffer(count: N * inF), tt = FloatBuffer(count: N * inF), dx = FloatBuffer(count: N * inF)
            let tile = FloatBuffer(count: 1 << 12)
            func set(_ m: Matrix, _ v: [Float]) { for i in 0..<v.count { m.data[i] = v[i] } }
            func loss() -> Double {
                set(lora.a, A); set(lora.b, Bm)
                lora.forward(x, rows: N, into: y.pointer, u: u.pointer, xd: xd.pointer, scratch: tile)
                return dot(y.pointer, R)
            }
            _ = loss()
            lora.zeroGradients()
            lora.backward(R, x: x, rows: N, dx: dx.pointer, accumulate: false, u: u.pointer, gB: gB.pointer, xd: xd.pointer, t: tt.pointer, scratch: tile)
            let (ga, gb, gx) = (lora.gradA.toArray(), lora.gradB.toArray(), Array(dx.buffer))
            assertClose(ga, numericGradient(&A) { A = $0; return loss() }, atol: 2e-3, rtol: 2e-2, "lora dA p=\(dropout)")
            assertClose(gb, numericGradient(&Bm) { Bm = $0; return loss() }, atol: 2e-3, rtol: 2e-2, "lora dB p=\(dropout)")
            assertClose(gx, numericGradient(&x) { x = $0; return loss() }, atol: 2e-3, rtol: 2e-2, "lora dx p=\(dropout)")
        }
    }

    func testChunkedCrossEntropyBackward() throws {
        let N = 7, d = 32, V = 40
        var wdata = GGUFWriter()
        wdata.add("emb", shape: [V, d], floats: randn(V * d, 0.5))
        let file = try GGUFFile(bytes: wdata.bytes())
        let head = FrozenLinear(name: "emb", type: .f32, outFeatures: V, inFeatures: d, weights: file.data(of: try file.requireTensor("emb")))
        let ce = ChunkedCrossEntropy(head: head, chunkRows: 3, tile: FloatBuffer(count: 1 << 12))
        var x = randn(N * d)
        let labels: [Int32] = [3, -1, 39, 0, -1, 17, 5]
        let dx = FloatBuffer(count: N * d)
        let total = ce.evaluate(hidden: x, labels: labels, rows: N, scale: 1, dHidden: dx.pointer)
        XCTAssertEqual(total.tokens, 5)
        let analytic = Array(dx.buffer)
        let numeric = numericGradient(&x) { x in ce.evaluate(hidden: x, labels: labels, rows: N, scale: 1, dHidden: nil).nllSum }
        assertClose(analytic, numeric, atol: 2e-3, rtol: 2e-2, "cross-entropy dx")
        for i in 0..<d { XCTAssertEqual(analytic[1 * d + i], 0); XCTAssertEqual(analytic[4 * d + i], 0) }
    }

    /// The whole model: every adapter's dA and dB (sampled entries) against central differences of the
    /// summed NLL, on the tiny GQA model with Q8_0 and F32 frozen linears, two rows, one of them packed.
    func testFullModelBackward() throws {
        for checkpointing in [false, true] {
            let weights = try tinyModelWeights()
            let settings = LoRASettings(rank: 2, alpha: 4, targets: LoRATarget.allCases, layers: [0, 1])
            let model = LlamaModel(weights: weights, lora: settings, seed: 1)
            for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.2 } }
            let T = 6
            let tokens: [Int32] = (0..<(2 * T)).map { _ in Int32(rng.int(40)) }
            var labels = Array(tokens.dropFirst()) + [-1]
            labels[2] = -1
            labels[T - 1] = -1
            let batch = TrainingBatch(rows: 2, seqLen: T, tokens: tokens, labels: labels,
                                      positions: [0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2],
                                      segmentStart: [0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3])
            let ws = TrainingWorkspace(model: model, rows: 2, seqLen: T, checkpointing: checkpointing, lossChunkRows: 4)
            model.zeroGradients()
            let total = model.step(batch, workspace: ws, lossScale: 1, backward: true)
            XCTAssertEqual(total.tokens, 9)
            for a in model.adapters {
                for (param, grad, name) in [(a.lora.a, a.lora.gradA, "A"), (a.lora.b, a.lora.gradB, "B")] {
                    let picks = (0..<4).map { _ in rng.int(param.count) }
                    var analytic: [Float] = [], numeric: [Float] = []
                    for i in picks {
                        let old = param.data[i], h: Float = 1e-2
                        param.data[i] = old + h
                        let lp = model.step(batch, workspace: ws, lossScale: 1, backward: false).nllSum
                        param.data[i] = old - h
                        let lm = model.step(batch, workspace: ws, lossScale: 1, backward: false).nllSum
                        param.data[i] = old
                        analytic.append(grad.data[i])
                        numeric.append(Float((lp - lm) / Double(2 * h)))
                    }
                    assertClose(analytic, numeric, atol: 3e-3, rtol: 3e-2, "layer \(a.layer) \(a.target.rawValue) d\(name) ckpt=\(checkpointing)")
                }
            }
        }
    }
}
