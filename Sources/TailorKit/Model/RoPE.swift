import Foundation

/// Rotary position embedding tables (SPEC.md §1): `inv_freq[i] = theta^(-2i/d)`, angle = pos * inv_freq[i],
/// computed in Float32 like transformers' `LlamaRotaryEmbedding`.
/// Pairing: adjacent `(2i, 2i+1)` for GGUF llama files (llama.cpp permuted q/k rows, rope mode NORM),
/// halves `(i, i + d/2)` for Hugging Face weights (`rotate_half`).
public final class RoPE: @unchecked Sendable {
    public let dims: Int
    public let headDim: Int
    public let adjacentPairs: Bool
    public private(set) var positions: Int
    private var cosTable: [Float]
    private var sinTable: [Float]
    private let invFreq: [Float]

    public init(dims: Int, headDim: Int, theta: Float, adjacentPairs: Bool, positions: Int) {
        self.dims = dims
        self.headDim = headDim
        self.adjacentPairs = adjacentPairs
        let half = dims / 2
        invFreq = (0..<half).map { i in 1 / powf(theta, Float(2 * i) / Float(dims)) }
        self.positions = 0
        cosTable = []
        sinTable = []
        reserve(positions)
    }

    /// Extends the tables to cover positions `0..<n`.
    public func reserve(_ n: Int) {
        guard n > positions else { return }
        let half = dims / 2
        cosTable.reserveCapacity(n * half)
        sinTable.reserveCapacity(n * half)
        for p in positions..<n {
            for i in 0..<half {
                let a = Float(p) * invFreq[i]
                cosTable.append(cosf(a))
                sinTable.append(sinf(a))
            }
        }
        positions = n
    }

    /// Rotates `heads` heads of each of T rows of `x` in place; row t has position `pos[t]`.
    /// x: [T, heads * headDim] with row stride `ld`.
    public func apply(_ x: UnsafeMutablePointer<Float>, rows T: Int, heads: Int, ld: Int, positions pos: UnsafePointer<Int32>, inverse: Bool = false) {
        let half = dims / 2
        let hd = headDim
        let adjacent = adjacentPairs
        cosTable.withUnsafeBufferPointer { cosB in
            sinTable.withUnsafeBufferPointer { sinB in
                guard let cp = cosB.baseAddress, let sp = sinB.baseAddress else { return }
                for t in 0..<T {
                    let c = cp + Int(pos[t]) * half, s = sp + Int(pos[t]) * half
                    let sign: Float = inverse ? -1 : 1
                    for h in 0..<heads {
                        let v = x + t * ld + h * hd
                        if adjacent {
                            for i in 0..<half {
                                let x0 = v[2 * i], x1 = v[2 * i + 1]
                                let si = sign * s[i]
                                v[2 * i] = x0 * c[i] - x1 * si
                                v[2 * i + 1] = x0 * si + x1 * c[i]
                            }
                        } else {
                            for i in 0..<half {
                                let x0 = v[i], x1 = v[i + half]
                                let si = sign * s[i]
                                v[i] = x0 * c[i] - x1 * si
                                v[i + half] = x1 * c[i] + x0 * si
                            }
                        }
                    }
                }
            }
        }
    }
}
