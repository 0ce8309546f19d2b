import XCTest

@testable import TailorRuns

final class TailorRunsSmokeTests: XCTestCase {
    func testModuleLinks() {
        XCTAssertEqual(TailorRunsInfo.schemaName, "tailor")
    }
}
