import TailorKit
import Yams

extension ConfigLoader {
    /// The fully resolved config as YAML: every key in schema order, defaults filled in, unset optionals as
    /// `null`. Logged at the start of a run and stored with it; loading it back gives the same config.
    ///
    /// Strings are double-quoted so a name like `2024` or a path like `null` survives the trip; numbers use
    /// Swift's shortest round-tripping form (`0.0002`, `1e-08`).
    public static func resolvedYAML(_ config: TrainingConfig) -> String {
        let d = config.data
        let data = map([
            ("train", string(d.train)), ("valid", string(d.valid)), ("valid_fraction", number(d.validFraction)),
            ("format", word(d.format.rawValue)), ("text_key", string(d.textKey)), ("prompt_key", string(d.promptKey)),
            ("completion_key", string(d.completionKey)), ("messages_key", string(d.messagesKey)),
            ("mask_prompt", bool(d.maskPrompt)), ("train_on", word(d.trainOn.rawValue)),
            ("chat_template", string(d.chatTemplate)), ("shuffle_buffer", number(d.shuffleBuffer)),
            ("packing", bool(d.packing)), ("on_bad_line", word(d.onBadLine.rawValue)),
        ])
        let l = config.lora
        let lora = map([
            ("rank", number(l.rank)), ("alpha", number(l.alpha)), ("dropout", number(l.dropout)),
            ("targets", Node(l.targets.map { word($0.rawValue) }, .implicit, .flow)), ("layers", layers(l.layers)),
            ("use_rslora", bool(l.useRSLoRA)), ("init_from", string(l.initFrom)),
        ])
        let t = config.train
        let train = map([
            ("epochs", number(t.epochs)), ("steps", number(t.steps)), ("batch_size", number(t.batchSize)),
            ("grad_accumulation", number(t.gradAccumulation)), ("max_seq_len", number(t.maxSeqLen)),
            ("lr", number(t.lr)), ("schedule", word(t.schedule.rawValue)), ("warmup", number(t.warmup)),
            ("warmup_ratio", number(t.warmupRatio)), ("weight_decay", number(t.weightDecay)),
            ("max_grad_norm", number(t.maxGradNorm)), ("adam_beta1", number(t.adamBeta1)),
            ("adam_beta2", number(t.adamBeta2)), ("adam_eps", number(t.adamEps)), ("seed", number(t.seed)),
            ("threads", number(t.threads)), ("micro_batch_tokens", number(t.microBatchTokens)),
            ("grad_checkpoint", bool(t.gradCheckpoint)),
            ("max_bad_steps", number(t.maxBadSteps)),
        ])
        let c = config.checkpoint
        let checkpoint = map([("every", number(c.every)), ("keep", number(c.keep)), ("keep_best", bool(c.keepBest))])
        let e = config.eval
        let eval = map([("every", number(e.every)), ("batches", number(e.batches)), ("patience", number(e.patience))])
        let root = map([
            ("name", string(config.name)), ("model", string(config.model)), ("output", string(config.output)),
            ("data", data), ("lora", lora), ("train", train), ("checkpoint", checkpoint), ("eval", eval),
        ])
        do {
            return try Yams.serialize(node: root, width: -1)
        } catch {
            // Only scalars, lists and mappings built above: an emitter failure here is our bug.
            preconditionFailure("resolvedYAML: Yams could not emit a config tree: \(error)")
        }
    }

    private static func map(_ pairs: [(String, Node)]) -> Node {
        Node(pairs.map { (Node($0.0), $0.1) }, .implicit, .block)
    }

    private static let null = Node("null", Tag(.null), .plain)

    private static func string(_ value: String?) -> Node {
        value.map { Node($0, Tag(.str), .doubleQuoted) } ?? null
    }

    /// An enum value: a bare identifier that YAML reads back as the same string.
    private static func word(_ value: String) -> Node { Node(value, Tag(.str), .plain) }

    private static func bool(_ value: Bool) -> Node { Node(value ? "true" : "false", Tag(.bool), .plain) }

    private static func number(_ value: (some CustomStringConvertible)?) -> Node {
        value.map { Node($0.description, .implicit, .plain) } ?? null
    }

    private static func layers(_ selection: LayerSelection) -> Node {
        switch selection {
        case .all: word("all")
        case let .last(count): number(count)
        case let .list(indices): Node(indices.map { number($0) }, .implicit, .flow)
        }
    }
}
