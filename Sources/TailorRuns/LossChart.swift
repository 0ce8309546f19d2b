import Foundation

/// A loss curve drawn with Unicode braille (2 x 4 dots per character cell) for `tailor status`.
///
/// The training loss is a line through its points (averaged per dot column when there are more points
/// than columns, joined by straight segments when there are fewer), the validation loss a `●` per
/// evaluation. With one point the chart is a single dot; with none it says so. Every line fits in
/// `maxWidth` columns (80 by default), y labels included.
///
/// ```
///  5.203 ┤⠑⠢⢄●
///        │    ⠉⠒⠤⣀
///  1.102 ┤        ⠉⠉⠒⠒●⠤⠤⠤
///        └────────────────
///         0             40
/// ```
public struct LossChart: Sendable {
    /// A point: the step and the loss there.
    public typealias Point = (step: Int, loss: Double)

    public var train: [Point]
    public var valid: [Point]
    /// Total width in columns (labels and axis included) and plot height in rows.
    public var maxWidth: Int
    public var height: Int
    /// Fixed axis ranges, so that two charts can be compared (`tailor runs compare`); nil fits the data.
    public var stepRange: ClosedRange<Int>?
    public var lossRange: ClosedRange<Double>?

    public init(
        train: [Point], valid: [Point], maxWidth: Int = 80, height: Int = 10, stepRange: ClosedRange<Int>? = nil,
        lossRange: ClosedRange<Double>? = nil
    ) {
        self.train = train.filter { $0.loss.isFinite }
        self.valid = valid.filter { $0.loss.isFinite }
        self.maxWidth = maxWidth
        self.height = max(2, height)
        self.stepRange = stepRange
        self.lossRange = lossRange
    }

    /// The chart for a run's metrics: training loss of every step, validation loss where evaluated.
    public init(metrics: [RunMetric], maxWidth: Int = 80, height: Int = 10) {
        self.init(
            train: metrics.compactMap { m in m.loss.map { (m.step, $0) } },
            valid: metrics.compactMap { m in m.validLoss.map { (m.step, $0) } }, maxWidth: maxWidth, height: height)
    }

    /// The steps and losses both series cover, or nil when there is nothing to draw.
    public var dataRanges: (steps: ClosedRange<Int>, losses: ClosedRange<Double>)? {
        let points = train + valid
        guard let s0 = points.map(\.step).min(), let s1 = points.map(\.step).max(),
            let l0 = points.map(\.loss).min(), let l1 = points.map(\.loss).max()
        else { return nil }
        return (s0...s1, l0...l1)
    }

    /// The chart's lines, top to bottom, with a legend first.
    public func render() -> [String] {
        guard let data = dataRanges else { return ["(no losses recorded yet)"] }
        var steps = stepRange ?? data.steps
        if steps.lowerBound == steps.upperBound { steps = steps.lowerBound...(steps.lowerBound + 1) }
        var losses = lossRange ?? data.losses
        if losses.upperBound - losses.lowerBound < 1e-9 {
            let pad = max(abs(losses.lowerBound) * 0.05, 0.05)
            losses = (losses.lowerBound - pad)...(losses.upperBound + pad)
        }
        let labels = axisLabels(losses)
        let labelWidth = labels.map(\.count).max() ?? 0
        let columns = max(8, maxWidth - labelWidth - 2)
        var grid = BrailleGrid(columns: columns, rows: height)

        let (dotColumns, dotRows) = (grid.dotColumns, grid.dotRows)
        func x(_ step: Int) -> Int {
            let f = Double(step - steps.lowerBound) / Double(steps.upperBound - steps.lowerBound)
            return Int((f * Double(dotColumns - 1)).rounded())
        }
        func y(_ loss: Double) -> Int {
            let f = (losses.upperBound - loss) / (losses.upperBound - losses.lowerBound)
            return Int((f * Double(dotRows - 1)).rounded())
        }

        // Training loss: the mean of the points falling in each dot column, joined by segments.
        var columnSums: [Int: (sum: Double, count: Int)] = [:]
        for p in train {
            let old = columnSums[x(p.step)] ?? (0, 0)
            columnSums[x(p.step)] = (old.sum + p.loss, old.count + 1)
        }
        var previous: (x: Int, y: Int)?
        for column in columnSums.keys.sorted() {
            guard let c = columnSums[column] else { continue }
            let point = (x: column, y: y(c.sum / Double(c.count)))
            if let previous { grid.line(from: previous, to: point) } else { grid.set(point.x, point.y) }
            previous = point
        }
        for p in valid {
            grid.mark(column: x(p.step) / 2, row: y(p.loss) / 4, "●")
        }

        var lines = ["loss  \(train.isEmpty ? "" : "⠤ train  ")\(valid.isEmpty ? "" : "● valid")"]
        let labelRows = [0: labels[0], height / 2: labels[1], height - 1: labels[2]]
        for (row, cells) in grid.renderedRows().enumerated() {
            let label = labelRows[row].map { String(repeating: " ", count: labelWidth - $0.count) + $0 }
            let line = (label ?? String(repeating: " ", count: labelWidth)) + (label == nil ? " │" : " ┤") + cells
            lines.append(String(line.reversed().drop(while: { $0 == " " }).reversed()))
        }
        lines.append(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: columns))
        let first = String(steps.lowerBound)
        let last = String(steps.upperBound)
        let gap = max(1, columns - first.count - last.count)
        lines.append(String(repeating: " ", count: labelWidth + 2) + first + String(repeating: " ", count: gap) + last)
        return lines
    }

    /// Labels for the top, middle and bottom rows, all with the same number of decimals.
    private func axisLabels(_ losses: ClosedRange<Double>) -> [String] {
        let span = losses.upperBound - losses.lowerBound
        let decimals = span >= 10 ? 1 : span >= 1 ? 2 : span >= 0.01 ? 3 : 5
        let mid = losses.lowerBound + span * (1 - Double(height / 2) / Double(height - 1))
        return [losses.upperBound, mid, losses.lowerBound].map { String(format: "%.\(decimals)f", $0) }
    }
}

/// A canvas of braille cells; dot (x, y) with y = 0 at the top.
struct BrailleGrid {
    let columns: Int, rows: Int
    private var bits: [UInt8]
    private var marks: [Int: Character] = [:]

    init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
        bits = [UInt8](repeating: 0, count: columns * rows)
    }

    var dotColumns: Int { columns * 2 }
    var dotRows: Int { rows * 4 }

    /// Unicode braille: dots 1-2-3-7 in the left column, 4-5-6-8 in the right, top to bottom.
    private static let bit: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    mutating func set(_ x: Int, _ y: Int) {
        guard x >= 0, x < dotColumns, y >= 0, y < dotRows else { return }
        bits[(y / 4) * columns + x / 2] |= Self.bit[x % 2][y % 4]
    }

    /// Bresenham's line between two dots, both ends included.
    mutating func line(from a: (x: Int, y: Int), to b: (x: Int, y: Int)) {
        var (x, y) = a
        let dx = abs(b.x - a.x)
        let dy = -abs(b.y - a.y)
        let sx = a.x < b.x ? 1 : -1
        let sy = a.y < b.y ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y)
            if x == b.x && y == b.y { break }
            let e2 = 2 * err
            if e2 >= dy {
                err += dy
                x += sx
            }
            if e2 <= dx {
                err += dx
                y += sy
            }
        }
    }

    /// Replaces a whole cell with a marker character.
    mutating func mark(column: Int, row: Int, _ c: Character) {
        guard column >= 0, column < columns, row >= 0, row < rows else { return }
        marks[row * columns + column] = c
    }

    func renderedRows() -> [String] {
        (0..<rows).map { r in
            String(
                (0..<columns).map { c -> Character in
                    let i = r * columns + c
                    if let m = marks[i] { return m }
                    return bits[i] == 0
                        ? " " : Character(Unicode.Scalar(0x2800 + UInt32(bits[i])) ?? " ")
                })
        }
    }
}
