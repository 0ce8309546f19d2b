import Foundation

/// A LoRA fine-tuning run as the user configured it (ARCHITECTURE.md §6).
///
/// Keys follow mlx-lm's LoRA config (`lora_config.yaml`) and PEFT's `LoraConfig` where they overlap, so
/// configs carry over with few renames. Defaults are documented per field; `validate()` checks ranges and
/// combinations. The YAML mapping lives in TailorRuns (`ConfigLoader`); this type is plain data, and its
/// `Codable` form (snake_case keys, same names as the YAML) is how a resolved config is stored as JSON.
public struct TrainingConfig: Sendable, Equatable, Codable {
    /// The run's name; adapters land in `adapters/<name>/` unless `output` is set. The loader defaults it
    /// to the config file's stem. Letters, digits, `.`, `_`, `-`; it names a directory.
    public var name: String
    /// The base model: a GGUF file or a safetensors directory.
    public var model: String
    /// Where the adapter is written; `nil` means `adapters/<name>` (see `outputDirectory`).
    public var output: String?
    public var data: DataConfig
    public var lora: LoRAConfig
    public var train: TrainConfig
    public var checkpoint: CheckpointConfig
    public var eval: EvalConfig

    public init(
        name: String, model: String, output: String? = nil, data: DataConfig, lora: LoRAConfig = .init(),
        train: TrainConfig = .init(), checkpoint: CheckpointConfig = .init(), eval: EvalConfig = .init()
    ) {
        self.name = name
        self.model = model
        self.output = output
        self.data = data
        self.lora = lora
        self.train = train
        self.checkpoint = checkpoint
        self.eval = eval
    }

    /// `output`, or `adapters/<name>` when unset.
    public var outputDirectory: String { output ?? "adapters/\(name)" }
}

// MARK: - data

/// Training and validation data: JSONL files, one example per line.
public struct DataConfig: Sendable, Equatable, Codable {
    /// The training JSONL file.
    public var train: String
    /// A validation JSONL file; `nil` means none (or `validFraction` of `train` held out).
    public var valid: String?
    /// Share of the training lines held out for validation when there is no `valid` file, in (0, 0.5).
    public var validFraction: Double?
    /// How a line is read; `auto` picks from the keys of the first line.
    public var format: DataFormat
    /// The key of the whole text for `text` data.
    public var textKey: String
    /// The keys of the prompt and the completion for `completion` data.
    public var promptKey: String
    public var completionKey: String
    /// The key of the message list for `chat` data.
    public var messagesKey: String
    /// Exclude prompt tokens (completion data) and non-trained turns (chat data) from the loss.
    public var maskPrompt: Bool
    /// Which chat turns are trained on when `maskPrompt` is set.
    public var trainOn: TrainOnTurns
    /// A chat template name (`chatml`, `llama3`, ...) or the path of a Jinja file; `nil` means the
    /// template in the model's metadata.
    public var chatTemplate: String?
    /// Examples held in the shuffle buffer (a streaming shuffle, as in tf.data); 0 disables shuffling.
    public var shuffleBuffer: Int
    /// Pack several short examples into one `maxSeqLen` row instead of padding each.
    public var packing: Bool
    /// What a malformed JSONL line does: stop the run, or skip it with a warning.
    public var onBadLine: BadLinePolicy

    public init(
        train: String, valid: String? = nil, validFraction: Double? = nil, format: DataFormat = .auto,
        textKey: String = "text", promptKey: String = "prompt", completionKey: String = "completion",
        messagesKey: String = "messages", maskPrompt: Bool = true, trainOn: TrainOnTurns = .assistant,
        chatTemplate: String? = nil, shuffleBuffer: Int = 10_000, packing: Bool = false,
        onBadLine: BadLinePolicy = .error
    ) {
        self.train = train
        self.valid = valid
        self.validFraction = validFraction
        self.format = format
        self.textKey = textKey
        self.promptKey = promptKey
        self.completionKey = completionKey
        self.messagesKey = messagesKey
        self.maskPrompt = maskPrompt
        self.trainOn = trainOn
        self.chatTemplate = chatTemplate
        self.shuffleBuffer = shuffleBuffer
        self.packing = packing
        self.onBadLine = onBadLine
    }

    enum CodingKeys: String, CodingKey {
        case train, valid, format, packing
        case validFraction = "valid_fraction"
        case textKey = "text_key"
        case promptKey = "prompt_key"
        case completionKey = "completion_key"
        case messagesKey = "messages_key"
        case maskPrompt = "mask_prompt"
        case trainOn = "train_on"
        case chatTemplate = "chat_template"
        case shuffleBuffer = "shuffle_buffer"
        case onBadLine = "on_bad_line"
    }
}

/// The shape of a JSONL line (mlx-lm's dataset formats).
public enum DataFormat: String, Sendable, Codable, CaseIterable {
    /// Decide from the first line's keys: `messages` → chat, `prompt`+`completion` → completion, `text` → text.
    case auto
    /// `{"text": "..."}`: every token is trained on.
    case text
    /// `{"prompt": "...", "completion": "..."}`.
    case completion
    /// `{"messages": [{"role": ..., "content": ...}, ...]}`, rendered with the chat template.
    case chat
}

/// Which turns of a chat example contribute to the loss.
public enum TrainOnTurns: String, Sendable, Codable, CaseIterable {
    /// Every assistant turn.
    case assistant
    /// Only the last assistant turn.
    case last
    /// Every token, prompts included (same as `mask_prompt: false`).
    case all
}

/// What a malformed data line does.
public enum BadLinePolicy: String, Sendable, Codable, CaseIterable {
    case error, skip
}

// MARK: - lora

/// The adapters (SPEC.md §2; PEFT `LoraConfig`: `r`, `lora_alpha`, `lora_dropout`, `target_modules`,
/// `layers_to_transform`, `use_rslora`).
public struct LoRAConfig: Sendable, Equatable, Codable {
    /// r, the inner dimension of A [r, in] and B [out, r].
    public var rank: Int
    /// Scale numerator: s = alpha / r (or alpha / sqrt(r) with rsLoRA).
    public var alpha: Double
    /// Dropout on the adapter input, a probability in [0, 1).
    public var dropout: Double
    /// The linears that get adapters.
    public var targets: [LoRATarget]
    /// The transformer blocks that get adapters.
    public var layers: LayerSelection
    /// Rank-stabilized scale alpha / sqrt(r) (Kalajdzievski 2023, arXiv 2312.03732).
    public var useRSLoRA: Bool
    /// A PEFT adapter directory whose A and B the run starts from instead of PEFT's initialisation
    /// (mlx-lm's `resume_adapter_file`). Its rank, alpha, targets and layers must equal this section's;
    /// the optimizer starts fresh. `nil`: a new adapter.
    public var initFrom: String?

    public init(
        rank: Int = 8, alpha: Double = 16, dropout: Double = 0, targets: [LoRATarget] = [.qProj, .vProj],
        layers: LayerSelection = .all, useRSLoRA: Bool = false, initFrom: String? = nil
    ) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.layers = layers
        self.useRSLoRA = useRSLoRA
        self.initFrom = initFrom
    }

    enum CodingKeys: String, CodingKey {
        case rank, alpha, dropout, targets, layers
        case useRSLoRA = "use_rslora"
        case initFrom = "init_from"
    }
}

/// A linear of a Llama block, named as in Hugging Face checkpoints and PEFT's `target_modules`.
public enum LoRATarget: String, Sendable, Codable, CaseIterable {
    case qProj = "q_proj"
    case kProj = "k_proj"
    case vProj = "v_proj"
    case oProj = "o_proj"
    case gateProj = "gate_proj"
    case upProj = "up_proj"
    case downProj = "down_proj"

    /// The YAML spelling of "every linear" (PEFT's `target_modules="all-linear"`, which leaves out lm_head).
    public static let allLinearName = "all-linear"
}

/// Which transformer blocks get adapters.
///
/// Codable as in YAML: the string `all`, an integer N (the last N blocks, like mlx-lm's `num_layers`), or a
/// list of block indices (PEFT's `layers_to_transform`).
public enum LayerSelection: Sendable, Equatable, Codable {
    case all
    case last(Int)
    case list([Int])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let count = try? container.decode(Int.self) {
            self = .last(count)
        } else if let indices = try? container.decode([Int].self) {
            self = .list(indices)
        } else if let word = try? container.decode(String.self), word == "all" {
            self = .all
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected \"all\", an integer or a list of integers")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .all: try container.encode("all")
        case let .last(count): try container.encode(count)
        case let .list(indices): try container.encode(indices)
        }
    }

    /// The selected block indices of a model with `layerCount` blocks, ascending.
    public func indices(layerCount: Int) -> [Int] {
        switch self {
        case .all: Array(0..<layerCount)
        case let .last(count): Array(max(0, layerCount - count)..<layerCount)
        case let .list(indices): indices.sorted()
        }
    }
}

// MARK: - train

/// The optimization loop: AdamW (Loshchilov & Hutter 2019) with warmup and a decay schedule.
public struct TrainConfig: Sendable, Equatable, Codable {
    /// Passes over the training data. Exactly one of `epochs` and `steps` is set; the default is 1 epoch.
    public var epochs: Int?
    /// Optimizer updates (mlx-lm's `iters`).
    public var steps: Int?
    /// Examples per micro-batch.
    public var batchSize: Int
    /// Micro-batches summed into one optimizer update; effective batch = batchSize * gradAccumulation.
    public var gradAccumulation: Int
    /// Tokens per example; longer examples are truncated (and reported by `tailor data check`).
    public var maxSeqLen: Int
    /// Peak learning rate, reached after warmup.
    public var lr: Double
    /// Decay after warmup: constant, linear to 0, or cosine to 0.
    public var schedule: LRScheduleKind
    /// Linear warmup from 0, in optimizer steps.
    public var warmup: Int
    /// Warmup as a share of the total steps, in [0, 1); exclusive with a nonzero `warmup`.
    public var warmupRatio: Double?
    /// Decoupled weight decay (AdamW), applied to adapter weights.
    public var weightDecay: Double
    /// Clip the global gradient L2 norm to this; `nil` disables clipping.
    public var maxGradNorm: Double?
    /// AdamW moment decay rates and denominator epsilon (PyTorch defaults).
    public var adamBeta1: Double
    public var adamBeta2: Double
    public var adamEps: Double
    /// Seeds adapter init, dropout and shuffling; same seed + same threads gives identical losses.
    public var seed: UInt64
    /// Worker threads; `nil` means every core.
    public var threads: Int?
    /// The most tokens one forward/backward pass holds (rounded down to whole rows, at least one row).
    /// A batch of more tokens runs as consecutive slices of rows whose gradients add up to the batch's
    /// (as `gradAccumulation` does, but inside one micro-batch), so activation memory is proportional to
    /// this, not to `batchSize`; the optimizer step is the same. On a CPU a GEMM over a few hundred rows
    /// already runs at full speed, so small values cost little time.
    public var microBatchTokens: Int
    /// Recompute each block's forward during backward to save activation memory (ARCHITECTURE.md §3).
    public var gradCheckpoint: Bool
    /// Consecutive steps with a NaN/Inf loss or gradient (each skipped) before the run stops as failed.
    public var maxBadSteps: Int

    public init(
        epochs: Int? = 1, steps: Int? = nil, batchSize: Int = 4, gradAccumulation: Int = 1,
        maxSeqLen: Int = 512, lr: Double = 2e-4, schedule: LRScheduleKind = .cosine, warmup: Int = 0,
        warmupRatio: Double? = nil, weightDecay: Double = 0, maxGradNorm: Double? = 1.0,
        adamBeta1: Double = 0.9, adamBeta2: Double = 0.999, adamEps: Double = 1e-8, seed: UInt64 = 0,
        threads: Int? = nil, microBatchTokens: Int = TrainConfig.defaultMicroBatchTokens, gradCheckpoint: Bool = false,
        maxBadSteps: Int = 5
    ) {
        self.epochs = epochs
        self.steps = steps
        self.batchSize = batchSize
        self.gradAccumulation = gradAccumulation
        self.maxSeqLen = maxSeqLen
        self.lr = lr
        self.schedule = schedule
        self.warmup = warmup
        self.warmupRatio = warmupRatio
        self.weightDecay = weightDecay
        self.maxGradNorm = maxGradNorm
        self.adamBeta1 = adamBeta1
        self.adamBeta2 = adamBeta2
        self.adamEps = adamEps
        self.seed = seed
        self.threads = threads
        self.microBatchTokens = microBatchTokens
        self.gradCheckpoint = gradCheckpoint
        self.maxBadSteps = maxBadSteps
    }

    enum CodingKeys: String, CodingKey {
        case epochs, steps, lr, schedule, warmup, seed, threads
        case batchSize = "batch_size"
        case gradAccumulation = "grad_accumulation"
        case maxSeqLen = "max_seq_len"
        case warmupRatio = "warmup_ratio"
        case weightDecay = "weight_decay"
        case maxGradNorm = "max_grad_norm"
        case adamBeta1 = "adam_beta1"
        case adamBeta2 = "adam_beta2"
        case adamEps = "adam_eps"
        case microBatchTokens = "micro_batch_tokens"
        case gradCheckpoint = "grad_checkpoint"
        case maxBadSteps = "max_bad_steps"
    }

    /// `microBatchTokens` when the config does not set it.
    public static let defaultMicroBatchTokens = 256
}

/// The learning-rate curve after warmup.
public enum LRScheduleKind: String, Sendable, Codable, CaseIterable {
    case constant, linear, cosine
}

// MARK: - checkpoint, eval

/// Checkpoints (ARCHITECTURE.md §4): adapter, optimizer moments, RNG and data cursor.
public struct CheckpointConfig: Sendable, Equatable, Codable {
    /// Save every N optimizer steps; `nil` saves only at the end (and on pause).
    public var every: Int?
    /// Most recent checkpoints kept on disk.
    public var keep: Int
    /// Also keep the checkpoint with the lowest validation loss (ignored without validation data).
    public var keepBest: Bool

    public init(every: Int? = nil, keep: Int = 3, keepBest: Bool = true) {
        self.every = every
        self.keep = keep
        self.keepBest = keepBest
    }

    enum CodingKeys: String, CodingKey {
        case every, keep
        case keepBest = "keep_best"
    }
}

/// Validation loss: at step 1, every `every` steps and at the end (as mlx-lm's trainer).
public struct EvalConfig: Sendable, Equatable, Codable {
    /// Evaluate every N optimizer steps.
    public var every: Int
    /// Validation batches per evaluation; `nil` means the whole validation set.
    public var batches: Int?
    /// Stop early after this many evaluations without a new best validation loss; `nil` never stops.
    public var patience: Int?

    public init(every: Int = 100, batches: Int? = nil, patience: Int? = nil) {
        self.every = every
        self.batches = batches
        self.patience = patience
    }
}
