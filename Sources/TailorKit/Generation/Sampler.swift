import Foundation

/// xoshiro256** seeded through SplitMix64: small, fast, and its state can be checkpointed.
public struct SeededRNG: RandomNumberGenerator, Sendable, Equatable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitmix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    public static func == (a: SeededRNG, b: SeededRNG) -> Bool {
        a.state.0 == b.state.0 && a.state.1 == b.state.1 && a.state.2 == b.state.2 && a.state.3 == b.state.3
    }
}

/// Token sampling: greedy at temperature 0, else temperature → top-k → top-p (nucleus) → draw,
/// the order llama.cpp's and transformers' default samplers apply them.
public struct Sampler: Sendable {
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var rng: SeededRNG
    private var candidates: [(id: Int32, logit: Float)] = []

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        rng = SeededRNG(seed: seed)
    }

    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        guard temperature > 0 else { return Sampler.argmax(logits) }
        candidates.removeAll(keepingCapacity: true)
        for (i, l) in logits.enumerated() { candidates.append((Int32(i), l / temperature)) }
        if topK > 0 && topK < candidates.count {
            // Partial selection would be faster; vocabularies of 50-150k sort in a few ms per token.
            candidates.sort { $0.logit > $1.logit }
            candidates.removeLast(candidates.count - topK)
        } else {
            candidates.sort { $0.logit > $1.logit }
        }
        let mx = candidates[0].logit
        var probs = candidates.map { expf($0.logit - mx) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        var keep = probs.count
        if topP < 1 {
            var cum: Float = 0
            for (i, p) in probs.enumerated() {
                cum += p
                if cum >= topP { keep = i + 1; break }
            }
        }
        let mass = probs[0..<keep].reduce(0, +)
        var r = rng.nextFloat() * mass
        for i in 0..<keep {
            r -= probs[i]
            if r < 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }

    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bv = -Float.infinity
        for (i, v) in logits.enumerated() where v > bv {
            bv = v
            best = i
        }
        return Int32(best)
    }
}
