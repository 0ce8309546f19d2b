import XCTest

@testable import TailorKit

/// `deterministicValues` against the values scripts/golden/peft_grads.py computed with Python integers
/// and float64 (`check.values`: seed 12345, 16 values, scale 0.5). Tolerance: none (bit-identical);
/// the rule is integer arithmetic plus two correctly rounded Float64 operations and one conversion.
final class DeterministicInitTests: XCTestCase {
    func testFirstValuesEqualPythonsBitForBit() throws {
        let st = try SafetensorsFile(url: fixtureURL("peft_grads_smollm2.safetensors"))
        let expected = try st.floats("check.values")
        XCTAssertEqual(expected.count, 16)
        let got = deterministicValues(seed: 12345, count: 16, scale: 0.5)
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern))
    }

    /// The stream does not depend on the count asked for, and stays in [-scale, scale).
    func testPrefixStableAndInRange() {
        let long = deterministicValues(seed: 15_041, count: 4608, scale: 1 / Double(576).squareRoot())
        XCTAssertEqual(Array(long.prefix(10)), deterministicValues(seed: 15_041, count: 10, scale: 1 / Double(576).squareRoot()))
        XCTAssertTrue(long.allSatisfy { abs($0) <= Float(1 / Double(576).squareRoot()) })
        XCTAssertEqual(deterministicValues(seed: 0, count: 0, scale: 1), [])
    }
}
