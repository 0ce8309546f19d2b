import XCTest

@testable import TailorRuns

final class LossChartTests: XCTestCase {
    /// The braille cells of the plot area (the rows between the legend and the axis), label gutter cut.
    func plotRows(_ lines: [String]) -> [[Character]] {
        let gutter =
            (lines[1].firstIndex(of: "┤").map { lines[1].distance(from: lines[1].startIndex, to: $0) } ?? 0) + 1
        return lines[1..<(lines.count - 2)].map { Array($0.dropFirst(gutter)) }
    }

    func testEveryLineFitsTheWidth() {
        let train = (1...1000).map { (step: $0, loss: 3 * exp(-Double($0) / 300) + 0.1 * sin(Double($0))) }
        let valid = stride(from: 0, through: 1000, by: 100).map { (step: $0, loss: 3 * exp(-Double($0) / 300) + 0.2) }
        for width in [40, 60, 80] {
            let lines = LossChart(train: train, valid: valid, maxWidth: width, height: 8).render()
            XCTAssertEqual(lines.count, 1 + 8 + 2)
            for line in lines { XCTAssertLessThanOrEqual(line.count, width, line) }
        }
    }

    /// A falling loss starts in the top-left cell and ends in the bottom row; the valid marks sit on it.
    func testAFallingCurveRunsFromTopLeftToBottomRight() {
        let train = (1...200).map { (step: $0, loss: 4 - 3 * Double($0) / 200) }
        let lines = LossChart(train: train, valid: [(step: 100, loss: 2.5)], maxWidth: 70, height: 6).render()
        XCTAssertEqual(lines[0], "loss  ⠤ train  ● valid")
        XCTAssertTrue(lines[1].hasPrefix("3.98 ┤"), lines[1])  // 4 - 3/200 at step 1
        XCTAssertTrue(lines[6].hasPrefix("1.00 ┤"), lines[6])
        let rows = plotRows(lines)
        XCTAssertNotEqual(rows[0].first, " ", "the first point is in the top-left cell")
        XCTAssertTrue(rows[5].contains { $0 != " " }, "the last point is in the bottom row")
        XCTAssertEqual(rows.joined().filter { $0 == "●" }.count, 1)
        XCTAssertTrue(lines.last?.hasSuffix("200") ?? false, lines.last ?? "")
        XCTAssertTrue(lines.last?.contains(" 1 ") ?? false, lines.last ?? "")
    }

    func testFewPointsDegradeGracefully() {
        XCTAssertEqual(LossChart(train: [], valid: []).render(), ["(no losses recorded yet)"])
        // One point: one dot, a flat range around it, no division by zero.
        let one = LossChart(train: [(step: 1, loss: 2.5)], valid: []).render()
        XCTAssertEqual(plotRows(one).joined().filter { $0 != " " }.count, 1, one.joined(separator: "\n"))
        // Only a validation loss (step 0, before training).
        let valid = LossChart(train: [], valid: [(step: 0, loss: 3)]).render()
        XCTAssertEqual(valid[0], "loss  ● valid")
        XCTAssertEqual(plotRows(valid).joined().filter { $0 == "●" }.count, 1)
        // Two points are joined by a line, not left as two dots.
        let two = LossChart(train: [(step: 1, loss: 3), (step: 2, loss: 1)], valid: [], maxWidth: 40, height: 4)
            .render()
        XCTAssertGreaterThan(plotRows(two).joined().filter { $0 != " " }.count, 10)
        // Non-finite losses are left out.
        let nan = LossChart(train: [(step: 1, loss: .nan), (step: 2, loss: 2)], valid: []).render()
        XCTAssertEqual(plotRows(nan).joined().filter { $0 != " " }.count, 1)
    }

    func testFixedRangesLetTwoChartsBeCompared() {
        let a = LossChart(
            train: [(step: 1, loss: 2), (step: 10, loss: 1)], valid: [], stepRange: 0...20, lossRange: 0...4)
        let lines = a.render()
        XCTAssertTrue(lines[1].hasPrefix("4.00 ┤"), lines[1])
        XCTAssertTrue(lines.last?.hasSuffix("20") ?? false)
        // The curve lies in the left half (steps 1-10 of 0-20) (the plot area's width is the axis
        // line's), and below a loss of 3.
        let columns = lines[lines.count - 2].filter { $0 == "─" }.count
        let rows = plotRows(lines)
        for row in rows {
            XCTAssertTrue(row.dropFirst(columns / 2 + 1).allSatisfy { $0 == " " }, String(row))
        }
        XCTAssertTrue(rows[0].allSatisfy { $0 == " " }, "nothing above a loss of 3")
    }
}

final class LineDiffTests: XCTestCase {
    let a = """
        name: "demo"
        lora:
          rank: 8
          alpha: 16
        train:
          steps: 40
          batch_size: 8
          lr: 0.001
          seed: 0
        eval:
          every: 10
        """.split(separator: "\n").map(String.init)

    func testAChangedValueShowsUnderItsSection() {
        var b = a
        b[7] = "  lr: 0.0002"
        let lines = LineDiff.lines(from: a, to: b)
        XCTAssertEqual(lines.filter(\.isChange), [.removed("  lr: 0.001"), .added("  lr: 0.0002")])
        XCTAssertEqual(lines.count, a.count + 1)
        let hunks = LineDiff.hunks(lines, context: 0).map { $0?.rendered ?? "…" }
        XCTAssertEqual(hunks, ["…", "  train:", "…", "-   lr: 0.001", "+   lr: 0.0002", "…"])
        XCTAssertEqual(
            LineDiff.hunks(lines, context: 1).map { $0?.rendered ?? "…" },
            ["…", "  train:", "…", "    batch_size: 8", "-   lr: 0.001", "+   lr: 0.0002", "    seed: 0", "…"])
    }

    func testInsertionsDeletionsAndEqualTexts() {
        XCTAssertTrue(LineDiff.hunks(LineDiff.lines(from: a, to: a)).isEmpty)
        var b = a
        b.remove(at: 3)
        b.insert("  dropout: 0.1", at: 3)
        b.append("checkpoint:")
        let lines = LineDiff.lines(from: a, to: b)
        XCTAssertEqual(
            lines.filter(\.isChange), [.removed("  alpha: 16"), .added("  dropout: 0.1"), .added("checkpoint:")])
        // Same lines in order on both sides: the diff rebuilds each text.
        XCTAssertEqual(lines.compactMap { if case .added = $0 { return nil } else { return $0.text } }, a)
        XCTAssertEqual(lines.compactMap { if case .removed = $0 { return nil } else { return $0.text } }, b)
        XCTAssertEqual(LineDiff.lines(from: [], to: ["x"]), [.added("x")])
        XCTAssertEqual(LineDiff.lines(from: ["x"], to: []), [.removed("x")])
    }
}
