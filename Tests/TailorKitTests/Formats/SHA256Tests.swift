import Foundation
import XCTest

@testable import TailorKit

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the classic million-'a' vector.
    func testKnownVectors() {
        for accelerated in [false, true] {
            XCTAssertEqual(
                SHA256.hex(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            var h = SHA256(accelerated: accelerated)
            h.update(Data("abc".utf8))
            XCTAssertEqual(h.hexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            h = SHA256(accelerated: accelerated)
            h.update(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            XCTAssertEqual(h.hexDigest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
            h = SHA256(accelerated: accelerated)
            let chunk = Data(repeating: UInt8(ascii: "a"), count: 1000)
            for _ in 0..<1000 { h.update(chunk) }
            XCTAssertEqual(h.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        }
    }

    /// Every length around the block and padding boundaries, fed whole and in odd pieces: the SHA-NI and
    /// plain paths agree, and splitting does not change the digest.
    func testAcceleratedMatchesPlainAtEveryBoundary() throws {
        try XCTSkipUnless(SHA256.isAccelerated, "no SHA-NI on this CPU")
        var rng = SystemRandomNumberGenerator()
        let bytes = Data((0..<1100).map { _ in UInt8.random(in: 0...255, using: &rng) })
        for n in 0..<bytes.count where n < 200 || n % 61 == 0 {
            let data = bytes.prefix(n)
            var plain = SHA256(accelerated: false)
            plain.update(data)
            var fast = SHA256(accelerated: true)
            var i = data.startIndex
            var piece = 1
            while i < data.endIndex {
                let j = min(data.endIndex, i + piece)
                fast.update(data[i..<j])
                i = j
                piece = piece * 3 % 97 + 1
            }
            XCTAssertEqual(fast.hexDigest(), plain.hexDigest(), "length \(n)")
        }
    }

    func testDigestOfAPrefixLeavesTheHashUsable() {
        var h = SHA256()
        h.update(Data("ab".utf8))
        _ = h.hexDigest()
        h.update(Data("c".utf8))
        XCTAssertEqual(h.hexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testFileDigestStreamsAndNamesTheFileOnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("blob.bin")
        let data = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        try data.write(to: file)
        XCTAssertEqual(try SHA256.hexDigest(ofFile: file.path, chunkSize: 4099), SHA256.hex(of: data))
        XCTAssertThrowsError(try SHA256.hexDigest(ofFile: dir.appendingPathComponent("missing").path)) { error in
            XCTAssertTrue(error.localizedDescription.contains("missing"), error.localizedDescription)
        }
    }
}
