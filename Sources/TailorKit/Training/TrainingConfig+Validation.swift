import Foundation

extension TrainingConfig {
    /// Checks every value's range and the combinations of values; throws the first problem found.
    ///
    /// Errors carry the dotted key path (`train.lr`) but no line: the YAML loader adds those. Nothing is
    /// clamped (STYLE.md "Safety"). Limits that depend on the model or the data (layer indices past the
    /// model's depth, `max_seq_len` past its context) are checked when those are loaded.
    public func validate(file: String? = nil) throws {
        do {
            try validateFields()
        } catch let error as ConfigError {
            throw error.located(file: file, origin: .unknown)
        }
    }

    private func validateFields() throws {
        try Check.name(name, key: "name")
        try Check.nonEmpty(model, key: "model", expected: "the path of a GGUF file or a safetensors directory")
        if let output { try Check.nonEmpty(output, key: "output", expected: "a directory path") }
        try data.validate()
        try lora.validate()
        try train.validate()
        try checkpoint.validate()
        try eval.validate()
        if eval.patience != nil, data.valid == nil, data.validFraction == nil {
            throw ConfigError.conflict(
                file: nil, key: "eval.patience", origin: .unknown, other: "no validation data",
                reason: "early stopping needs data.valid or data.valid_fraction")
        }
    }
}

extension DataConfig {
    func validate() throws {
        try Check.nonEmpty(train, key: "data.train", expected: "the path of a JSONL file")
        if let valid { try Check.nonEmpty(valid, key: "data.valid", expected: "the path of a JSONL file") }
        if let validFraction {
            guard validFraction > 0, validFraction < 0.5 else {
                throw Check.range("data.valid_fraction", validFraction, "a fraction in (0, 0.5), e.g. 0.05")
            }
            if valid != nil {
                throw ConfigError.conflict(
                    file: nil, key: "data.valid_fraction", origin: .unknown, other: "data.valid",
                    reason: "hold out part of data.train only when there is no validation file; remove one")
            }
        }
        for (key, value) in [
            ("data.text_key", textKey), ("data.prompt_key", promptKey),
            ("data.completion_key", completionKey), ("data.messages_key", messagesKey),
        ] {
            try Check.nonEmpty(value, key: key, expected: "a JSON key name")
        }
        if let chatTemplate {
            try Check.nonEmpty(chatTemplate, key: "data.chat_template", expected: "a template name or a file path")
        }
        guard shuffleBuffer >= 0 else {
            throw Check.range("data.shuffle_buffer", shuffleBuffer, "an integer >= 0 (0 disables shuffling)")
        }
    }
}

extension LoRAConfig {
    func validate() throws {
        guard (1...1024).contains(rank) else { throw Check.range("lora.rank", rank, "an integer in 1...1024") }
        guard alpha > 0, alpha.isFinite else { throw Check.range("lora.alpha", alpha, "a number > 0") }
        guard dropout >= 0, dropout < 1 else { throw Check.range("lora.dropout", dropout, "a probability in [0, 1)") }
        guard !targets.isEmpty else {
            throw Check.range(
                "lora.targets", "[]", "at least one of \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let repeated = Check.firstRepeat(targets) {
            throw Check.range("lora.targets", repeated.rawValue, "each target listed once")
        }
        switch layers {
        case .all: break
        case let .last(count):
            guard count >= 1 else {
                throw Check.range("lora.layers", count, "all, N >= 1 (the last N blocks) or a list")
            }
        case let .list(indices):
            guard !indices.isEmpty else { throw Check.range("lora.layers", "[]", "a non-empty list of block indices") }
            if let negative = indices.first(where: { $0 < 0 }) {
                throw Check.range("lora.layers", negative, "block indices >= 0")
            }
            if let repeated = Check.firstRepeat(indices) {
                throw Check.range("lora.layers", repeated, "each block index listed once")
            }
        }
        if let initFrom {
            try Check.nonEmpty(initFrom, key: "lora.init_from", expected: "a PEFT adapter directory")
        }
    }
}

extension TrainConfig {
    func validate() throws {
        switch (epochs, steps) {
        case (nil, nil):
            throw ConfigError.missingKey(
                file: nil, key: "train.epochs", expected: "train.epochs or train.steps (an integer >= 1)")
        case (.some, .some):
            throw ConfigError.conflict(
                file: nil, key: "train.steps", origin: .unknown, other: "train.epochs",
                reason: "set either the number of passes over the data (epochs) or of optimizer updates (steps)")
        case let (epochs?, nil):
            guard epochs >= 1 else { throw Check.range("train.epochs", epochs, "an integer >= 1") }
        case let (nil, steps?):
            guard steps >= 1 else { throw Check.range("train.steps", steps, "an integer >= 1") }
        }
        guard (1...4096).contains(batchSize) else {
            throw Check.range("train.batch_size", batchSize, "an integer in 1...4096")
        }
        guard (1...1024).contains(gradAccumulation) else {
            throw Check.range("train.grad_accumulation", gradAccumulation, "an integer in 1...1024")
        }
        guard (8...131_072).contains(maxSeqLen) else {
            throw Check.range("train.max_seq_len", maxSeqLen, "an integer in 8...131072 (tokens)")
        }
        guard (1...1_048_576).contains(microBatchTokens) else {
            throw Check.range("train.micro_batch_tokens", microBatchTokens, "an integer in 1...1048576 (tokens per forward/backward pass)")
        }
        guard lr > 0, lr <= 1 else { throw Check.range("train.lr", lr, "a learning rate in (0, 1], e.g. 2e-4") }
        guard warmup >= 0 else { throw Check.range("train.warmup", warmup, "an integer >= 0 (optimizer steps)") }
        if let steps, warmup > 0, warmup >= steps {
            throw Check.range("train.warmup", warmup, "fewer warmup steps than train.steps (\(steps))")
        }
        if let warmupRatio {
            guard warmupRatio >= 0, warmupRatio < 1 else {
                throw Check.range("train.warmup_ratio", warmupRatio, "a fraction of the total steps in [0, 1)")
            }
            if warmup > 0 {
                throw ConfigError.conflict(
                    file: nil, key: "train.warmup_ratio", origin: .unknown, other: "train.warmup",
                    reason: "give warmup either in steps or as a ratio of the total steps")
            }
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw Check.range("train.weight_decay", weightDecay, "a number >= 0")
        }
        if let maxGradNorm, !(maxGradNorm > 0 && maxGradNorm.isFinite) {
            throw Check.range("train.max_grad_norm", maxGradNorm, "a number > 0, or null to disable clipping")
        }
        guard adamBeta1 >= 0, adamBeta1 < 1 else {
            throw Check.range("train.adam_beta1", adamBeta1, "a number in [0, 1)")
        }
        guard adamBeta2 >= 0, adamBeta2 < 1 else {
            throw Check.range("train.adam_beta2", adamBeta2, "a number in [0, 1)")
        }
        guard adamEps > 0, adamEps < 1 else {
            throw Check.range("train.adam_eps", adamEps, "a number in (0, 1), e.g. 1e-8")
        }
        if let threads, !(1...1024).contains(threads) {
            throw Check.range("train.threads", threads, "an integer in 1...1024, or null for every core")
        }
        guard maxBadSteps >= 1 else {
            throw Check.range("train.max_bad_steps", maxBadSteps, "an integer >= 1 (consecutive NaN/Inf steps)")
        }
    }
}

extension CheckpointConfig {
    func validate() throws {
        if let every, every < 1 {
            throw Check.range("checkpoint.every", every, "an integer >= 1 (steps), or null to save only at the end")
        }
        guard keep >= 1 else { throw Check.range("checkpoint.keep", keep, "an integer >= 1") }
    }
}

extension EvalConfig {
    func validate() throws {
        guard every >= 1 else { throw Check.range("eval.every", every, "an integer >= 1 (steps)") }
        if let batches, batches < 1 {
            throw Check.range("eval.batches", batches, "an integer >= 1, or null for the whole validation set")
        }
        if let patience, patience < 1 {
            throw Check.range("eval.patience", patience, "an integer >= 1 (evaluations), or null")
        }
    }
}

/// Shared checks; they build `ConfigError`s without file or origin.
private enum Check {
    static func range(_ key: String, _ found: some CustomStringConvertible, _ expected: String) -> ConfigError {
        .outOfRange(file: nil, key: key, origin: .unknown, found: "\(found)", expected: expected)
    }

    static func nonEmpty(_ value: String, key: String, expected: String) throws {
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError.wrongType(
                file: nil, key: key, origin: .unknown, found: "an empty string", expected: expected)
        }
    }

    /// A run name becomes a directory and a database key: `[A-Za-z0-9._-]+`, not starting with `.`.
    static func name(_ value: String, key: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        guard !value.isEmpty, !value.hasPrefix("."),
            value.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) })
        else {
            throw ConfigError.wrongType(
                file: nil, key: key, origin: .unknown, found: "'\(value)'",
                expected: "a run name of ASCII letters, digits, '.', '_' and '-', not starting with '.'")
        }
    }

    static func firstRepeat<T: Hashable>(_ values: [T]) -> T? {
        var seen = Set<T>()
        return values.first { !seen.insert($0).inserted }
    }
}
