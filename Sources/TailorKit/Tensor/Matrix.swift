import Foundation

/// Owned, 64-byte aligned Float32 storage. Reference type on purpose: buffers are allocated once per
/// workspace and written in place by kernels, never copied.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "FloatBuffer count \(count) < 0")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: pointer, count: count) }
}

/// Row-major Float32 matrix `[rows, cols]` over a `FloatBuffer` (ARCHITECTURE.md §2 Tensor/).
/// Copies share storage: a `Matrix` is a view with a shape, built once and reused.
public struct Matrix: @unchecked Sendable {
    public private(set) var rows: Int
    public let cols: Int
    public let storage: FloatBuffer

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        storage = FloatBuffer(count: rows * cols)
    }

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "Matrix \(rows)x\(cols) given \(values.count) values")
        self.init(rows: rows, cols: cols)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.update(from: base, count: values.count) }
        }
    }

    /// The same storage seen with fewer rows (a batch shorter than the workspace's capacity).
    public func prefix(rows n: Int) -> Matrix {
        precondition(n <= storage.count / max(cols, 1), "prefix \(n) rows > capacity of \(cols)-wide buffer")
        var m = self
        m.rows = n
        return m
    }

    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer }
    @inline(__always) public func row(_ r: Int) -> UnsafeMutablePointer<Float> { storage.pointer + r * cols }
    public var count: Int { rows * cols }

    @inline(__always) public subscript(r: Int, c: Int) -> Float {
        get { storage.pointer[r * cols + c] }
        nonmutating set { storage.pointer[r * cols + c] = newValue }
    }

    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public func fill(_ v: Float) { data.update(repeating: v, count: count) }
}
