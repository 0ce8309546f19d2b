import Foundation
import GRDB
import TailorKit

/// One step's numbers (a row of `metric`). Step 0 holds only the validation loss measured before
/// training. Non-finite values are stored as NULL (SQLite has no NaN; JSON has neither).
public struct RunMetric: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "metric"

    public var step: Int
    /// Mean training loss over the step's supervised tokens; nil when it was not finite.
    public var loss: Double?
    /// Validation loss, on the steps where the trainer evaluated.
    public var validLoss: Double?
    public var lr: Double?
    /// Global gradient norm before clipping.
    public var gradNorm: Double?
    public var tokensPerSecond: Double?
    public var supervisedTokens: Int?
    public var peakRSSBytes: Int?
    /// Tokens in the step's batches, padding included (schema v2).
    public var tokens: Int?
    /// Wall-clock seconds of the step (schema v2).
    public var seconds: Double?
    /// The update was skipped: the loss or the gradient was not finite (schema v2).
    public var skipped: Bool

    public init(
        step: Int, loss: Double? = nil, validLoss: Double? = nil, lr: Double? = nil, gradNorm: Double? = nil,
        tokensPerSecond: Double? = nil, supervisedTokens: Int? = nil, peakRSSBytes: Int? = nil, tokens: Int? = nil,
        seconds: Double? = nil, skipped: Bool = false
    ) {
        self.step = step
        self.loss = loss
        self.validLoss = validLoss
        self.lr = lr
        self.gradNorm = gradNorm
        self.tokensPerSecond = tokensPerSecond
        self.supervisedTokens = supervisedTokens
        self.peakRSSBytes = peakRSSBytes
        self.tokens = tokens
        self.seconds = seconds
        self.skipped = skipped
    }

    /// A trainer's step report as a row (its validation loss, if any, arrives separately).
    public init(_ m: TrainingStepMetrics) {
        self.init(
            step: m.step, loss: m.loss, lr: m.lr, gradNorm: m.gradNorm, tokensPerSecond: m.tokensPerSecond,
            supervisedTokens: m.supervisedTokens, peakRSSBytes: m.peakRSSBytes, tokens: m.tokens, seconds: m.seconds,
            skipped: m.skipped)
    }
}
