import Foundation

/// Keys (after RoPE) and values of every past position, per layer: K, V [capacity, kvDim].
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    public let layers: Int
    public let kvDim: Int
    public var keys: [FloatBuffer]
    public var values: [FloatBuffer]
    /// Positions filled so far.
    public var length = 0

    public init(config: ModelConfig, capacity: Int) {
        self.capacity = capacity
        layers = config.layerCount
        kvDim = config.kvDim
        keys = (0..<config.layerCount).map { _ in FloatBuffer(count: capacity * config.kvDim, zeroed: false) }
        values = (0..<config.layerCount).map { _ in FloatBuffer(count: capacity * config.kvDim, zeroed: false) }
    }

    public func reset() { length = 0 }
    public var bytes: Int { 2 * layers * capacity * kvDim * MemoryLayout<Float>.size }
}
