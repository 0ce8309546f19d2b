import Foundation

/// Deterministic LoRA weights shared with scripts/golden/peft_grads.py, so gradient fixtures need not
/// store A and B. SplitMix64 (Steele, Lea & Flood 2014; the constants of Vigna's `splitmix64.c`) from
/// `state = seed`; for each value:
///
///     state += 0x9E3779B97F4A7C15                       (mod 2^64)
///     z = state
///     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9           (mod 2^64)
///     z = (z ^ (z >> 27)) * 0x94D049BB133111EB           (mod 2^64)
///     z ^= z >> 31
///     value = Float(((Double(z >> 40) / 2^24) * 2 - 1) * scale)
///
/// All arithmetic before the final conversion is Float64 (`z >> 40` < 2^24 and the `* 2 - 1` are
/// exact; only `* scale` and the conversion to Float round), matching Python's float math. Values lie
/// in [-scale, scale). Fixture rule (peft_grads.py): layer L, module M (q 0, k 1, v 2, o 3, gate 4,
/// up 5, down 6): A [r, in] = values(1000 L + 10 M, r * in, 1 / sqrt(in)),
/// B [out, r] = values(1000 L + 10 M + 1, out * r, 0.05), both row-major in HF coordinates; compute the
/// A scale as `1 / Double(in).squareRoot()` (Python `1.0 / math.sqrt(in)`).
func deterministicValues(seed: UInt64, count: Int, scale: Double) -> [Float] {
    var state = seed
    var out = [Float]()
    out.reserveCapacity(count)
    for _ in 0..<count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        out.append(Float((Double(z >> 40) / 16_777_216 * 2 - 1) * scale))
    }
    return out
}
