import Foundation
import XCTest

/// Runs the built `tailor` binary as a user would: exit codes, stdout/stderr split, JSON outputs.
final class CLITests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var modelPath: String { repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path }
    static func fixture(_ name: String) -> URL {
        repoRoot.appendingPathComponent("Tests/TailorKitTests/Fixtures").appendingPathComponent(name)
    }

    /// TAILOR_HOME for every `tailor` the tests start: one scratch directory per test process.
    static let scratchHome = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tailor-cli-home-\(ProcessInfo.processInfo.processIdentifier)")

    /// The `tailor` executable next to the test bundle (same build configuration).
    static var binary: URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return dir.appendingPathComponent("tailor")
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func run(_ args: [String]) throws -> Result { try runTailor(args) }

    func testBadInputExitsTwoWithAMessageNamingTheProblem() throws {
        var r = try run(["generate", "--model", Self.modelPath])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--prompt"), r.stderr)
        r = try run(["generate", "--model", "/nonexistent/m.gguf", "--prompt", "hi"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("/nonexistent/m.gguf"), r.stderr)
        r = try run(["info", "--model", Self.fixture("ppl_text.txt").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("magic"), r.stderr)
        r = try run(["generate", "--model", Self.modelPath, "--prompt", "x", "--top-p", "1.5"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--top-p"), r.stderr)
        r = try run(["frobnicate"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stdout.isEmpty)
    }

    func testGenerateJSONIsGreedyAndStopsAtEndOfTurn() throws {
        let prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
        let r = try run(["generate", "--model", Self.modelPath, "--prompt", prompt, "--max-tokens", "32", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["text"] as? String, "The capital of France is Paris.")
        XCTAssertEqual(obj["stop"] as? String, "eos")
        let timings = try XCTUnwrap(obj["timings"] as? [String: Any])
        XCTAssertEqual(timings["prompt_tokens"] as? Int, 16)
        XCTAssertNotNil(timings["generate_ms"] as? Double)
    }

    func testChatStreamsTextToStdoutAndTimingsToStderr() throws {
        let r = try run(["generate", "--model", Self.modelPath, "--chat", "--prompt", "What is the capital of France?", "--max-tokens", "24"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Paris"), r.stdout)
        XCTAssertTrue(r.stderr.contains("tok/s"), r.stderr)
        XCTAssertFalse(r.stdout.contains("tok/s"))
    }

    func testPerplexityJSONMatchesReference() throws {
        let r = try run(["perplexity", "--model", Self.modelPath, "--file", Self.fixture("ppl_text.txt").path, "--ctx", "256", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture("ppl_smollm2.json"))) as? [String: Any])
        let ppl = try XCTUnwrap(obj["ppl"] as? Double), refPPL = try XCTUnwrap(ref["ppl"] as? Double)
        XCTAssertEqual(ppl, refPPL, accuracy: refPPL * 1e-4)
        XCTAssertEqual(obj["chunks"] as? Int, 9)
    }

    func testPerplexityTextOutputFollowsLlamaCpp() throws {
        let r = try run(["perplexity", "--model", Self.modelPath, "--file", Self.fixture("ppl_text.txt").path, "--ctx", "512"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("[1]"), r.stdout)
        XCTAssertNotNil(r.stdout.range(of: #"PPL = [0-9.]+ \+/- [0-9.]+"#, options: .regularExpression), r.stdout)
    }

    func testTokenizeAndInfo() throws {
        var r = try run(["tokenize", "--model", Self.modelPath, "--text", "<|im_start|>user"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[1,4093]")
        r = try run(["info", "--model", Self.modelPath, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["layers"] as? Int, 30)
        XCTAssertEqual(obj["tokenizerPre"] as? String, "smollm")
    }
}

/// Runs the built `tailor` with `args`, capturing exit status, stdout and stderr.
func runTailor(_ args: [String]) throws -> CLITests.Result {
    guard FileManager.default.fileExists(atPath: CLITests.modelPath) else {
        throw NSError(domain: "tailor", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(CLITests.modelPath) missing: run scripts/fetch-model.sh"])
    }
    let p = Process()
    p.executableURL = CLITests.binary
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = "2"
    // Runs that the tests train are recorded in a throw-away database, never the user's ~/.tailor.
    env["TAILOR_HOME"] = CLITests.scratchHome.path
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLITests.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

