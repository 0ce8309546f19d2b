import Foundation
import XCTest

@testable import TailorKit

/// The repository root (tests run from any working directory).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// A committed fixture under Tests/TailorKitTests/Fixtures.
func fixtureURL(_ name: String) -> URL {
    repoRoot.appendingPathComponent("Tests/TailorKitTests/Fixtures").appendingPathComponent(name)
}

struct MissingModel: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path) is missing: run `scripts/fetch-model.sh` (tests never skip without it)" }
}

/// Path of the real SmolLM2-135M-Instruct Q4_1 model; throws with the command to run when missing.
func smolLM2Path() throws -> String {
    let path = ProcessInfo.processInfo.environment["TAILOR_TEST_MODEL"]
        ?? repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    guard FileManager.default.fileExists(atPath: path) else { throw MissingModel(path: path) }
    return path
}

/// Loaded once per test process: the weights are memory-mapped and read-only.
nonisolated(unsafe) private var cachedWeights: LlamaWeights?
private let weightsLock = NSLock()

func smolLM2Weights() throws -> LlamaWeights {
    weightsLock.lock()
    defer { weightsLock.unlock() }
    if let w = cachedWeights { return w }
    let w = try LlamaWeights(path: try smolLM2Path())
    cachedWeights = w
    return w
}

/// Asserts |a - b| <= atol + rtol * |b| elementwise, reporting the worst element.
func assertClose(
    _ a: [Float], _ b: [Float], atol: Float, rtol: Float = 0, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "count \(message)", file: file, line: line)
    var worst: Float = 0, worstIndex = -1, worstExcess: Float = -1
    for i in 0..<min(a.count, b.count) {
        let diff = abs(a[i] - b[i])
        let excess = diff - (atol + rtol * abs(b[i]))
        if diff > worst { worst = diff }
        if excess > worstExcess { worstExcess = excess; worstIndex = i }
        if a[i].isNaN != b[i].isNaN { worstExcess = .infinity; worstIndex = i; break }
    }
    XCTAssert(
        worstExcess <= 0,
        "\(message): max |diff| \(worst); worst at [\(worstIndex)] \(worstIndex >= 0 ? "\(a[worstIndex]) vs \(b[worstIndex])" : ""), atol \(atol) rtol \(rtol)",
        file: file, line: line)
}

/// Deterministic generator for tests (SplitMix64).
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

nonisolated(unsafe) private var cachedTokenizer: Tokenizer?

/// The real SmolLM2 tokenizer, built from the GGUF metadata.
func smolLM2Tokenizer() throws -> Tokenizer {
    weightsLock.lock()
    defer { weightsLock.unlock() }
    if let t = cachedTokenizer { return t }
    let t = try Tokenizer(gguf: GGUFFile(path: try smolLM2Path()))
    cachedTokenizer = t
    return t
}

/// A SentencePiece-BPE tokenizer in a tensor-less GGUF (scripts/golden/tokenizer.py).
func tinySPMTokenizer() throws -> Tokenizer {
    try Tokenizer(gguf: GGUFFile(path: fixtureURL("tiny-spm.gguf.bin").path))
}
