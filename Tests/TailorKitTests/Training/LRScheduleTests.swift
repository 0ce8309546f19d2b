import XCTest

@testable import TailorKit

/// Schedules against transformers `get_*_schedule_with_warmup` (scripts/golden/optim.py →
/// Fixtures/optim.safetensors). Tolerance: none. The lambdas are the same Float64 operations in the
/// same order, and `cos` is the same C library function Python's `math.cos` calls, so the values
/// must be bit-identical (compared with `==` on Double).
final class LRScheduleTests: XCTestCase {
    func testLambdasEqualTransformersForEachKindAndWarmup() throws {
        let st = try SafetensorsFile(url: fixtureURL("optim.safetensors"))
        for kind in LRScheduleKind.allCases {
            for warmup in [3, 0] {
                let expected = try st.doubles("schedule.\(kind.rawValue).warmup\(warmup)")
                XCTAssertEqual(expected.count, 21)
                let schedule = LRSchedule(kind: kind, baseLR: 1, warmupSteps: warmup, totalSteps: 20)
                let got = (0...20).map { schedule.factor(at: $0) }
                XCTAssertEqual(got, expected, "\(kind) warmup \(warmup)")
            }
        }
    }

    /// The lr a real LambdaLR hands the optimizer for update k (scheduler.step() after each
    /// optimizer.step(), as the HF Trainer does) is `lr(at: k)`, with base 3e-4.
    func testLRForUpdateKEqualsWhatLambdaLRGaveTheOptimizer() throws {
        let st = try SafetensorsFile(url: fixtureURL("optim.safetensors"))
        for kind in LRScheduleKind.allCases {
            let expected = try st.doubles("schedule.\(kind.rawValue).warmup3.lr")
            let schedule = LRSchedule(kind: kind, baseLR: 3e-4, warmupSteps: 3, totalSteps: 20)
            XCTAssertEqual((0..<20).map { schedule.lr(at: $0) }, expected, "\(kind)")
        }
    }

    /// Hand-checked shape facts: lr 0 at update 0 during warm-up, full lr at the end of warm-up,
    /// half way through the decay, 0 at the last step for the decaying kinds.
    func testWarmupStartAndDecayEnd() {
        for kind in LRScheduleKind.allCases {
            let s = LRSchedule(kind: kind, baseLR: 2e-4, warmupSteps: 4, totalSteps: 10)
            XCTAssertEqual(s.lr(at: 0), 0)
            XCTAssertEqual(s.lr(at: 2), 1e-4)
            XCTAssertEqual(s.lr(at: 4), 2e-4)
            XCTAssertEqual(s.lr(at: 10), kind == .constant ? 2e-4 : 0)
            XCTAssertEqual(s.lr(at: 7), kind == .constant ? 2e-4 : kind == .linear ? 1e-4 : 1e-4, accuracy: 1e-18)
        }
        let cosine = LRSchedule(kind: .cosine, baseLR: 1, warmupSteps: 0, totalSteps: 10)
        XCTAssertEqual(cosine.lr(at: 5), 0.5, accuracy: 1e-15)
        XCTAssertEqual(LRScheduleKind(rawValue: "linear"), .linear)
    }
}
