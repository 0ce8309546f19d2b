import Foundation
import XCTest

@testable import TailorRuns

/// A scratch directory per test, removed at the end.
final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit {
        // Undo any chmod a test left behind so removal works.
        if let files = FileManager.default.enumerator(atPath: url.path) {
            for case let file as String in files {
                chmod(url.appendingPathComponent(file).path, 0o700)
            }
        }
        chmod(url.path, 0o700)
        try? FileManager.default.removeItem(at: url)
    }
}

/// The permission bits of the file at `path`.
func mode(_ path: String) -> mode_t {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return info.st_mode & 0o777
}

/// A run as `tailor train` would create it.
func sampleRun(name: String = "demo", steps: Int = 10) -> NewRun {
    NewRun(
        name: name, configPath: "configs/\(name).yaml", configYAML: "name: \(name)\n",
        resolvedYAML: "name: \"\(name)\"\ntrain:\n  steps: \(steps)\n", outputDirectory: "/tmp/adapters/\(name)",
        totalSteps: steps,
        inputs: [
            RunInput(role: .model, path: "/m/model.gguf", bytes: 98_362_432, sha256: String(repeating: "a", count: 64)),
            RunInput(role: .train, path: "/d/train.jsonl", bytes: 1234, sha256: String(repeating: "b", count: 64)),
        ])
}
