/// The keys a run config may contain, per section, and the names other trainers use for them.
///
/// The order is the order of `ConfigLoader.resolvedYAML` and of "valid keys" lists in errors.
/// `ConfigLoaderTests` checks these lists against `TrainingConfig`'s JSON keys, so they cannot drift.
enum ConfigSchema {
    /// Section path ("" for the root) → its keys.
    static let sections: [String: [String]] = [
        "": ["name", "model", "output", "data", "lora", "train", "checkpoint", "eval"],
        "data": [
            "train", "valid", "valid_fraction", "format", "text_key", "prompt_key", "completion_key",
            "messages_key", "mask_prompt", "train_on", "chat_template", "shuffle_buffer", "packing", "on_bad_line",
        ],
        "lora": ["rank", "alpha", "dropout", "targets", "layers", "use_rslora", "init_from"],
        "train": [
            "epochs", "steps", "batch_size", "grad_accumulation", "max_seq_len", "lr", "schedule", "warmup",
            "warmup_ratio", "weight_decay", "max_grad_norm", "adam_beta1", "adam_beta2", "adam_eps", "seed",
            "threads", "micro_batch_tokens", "grad_checkpoint", "max_bad_steps",
        ],
        "checkpoint": ["every", "keep", "keep_best"],
        "eval": ["every", "batches", "patience"],
    ]

    /// Keys from mlx-lm (`lora_config.yaml`), PEFT (`LoraConfig`) and transformers (`TrainingArguments`)
    /// → the Tailor key path that means the same or nearly the same. Used only to suggest a fix; a
    /// foreign key is still an error, because silently accepting it would hide differences (mlx-lm's
    /// `scale` is not `alpha`, its `num_layers: -1` is not a count).
    static let foreignKeys: [String: String] = [
        "learning_rate": "train.lr", "iters": "train.steps", "max_steps": "train.steps",
        "num_train_epochs": "train.epochs", "num_epochs": "train.epochs",
        "per_device_train_batch_size": "train.batch_size",
        "gradient_accumulation_steps": "train.grad_accumulation",
        "gradient_accumulation": "train.grad_accumulation", "grad_accum": "train.grad_accumulation",
        "max_seq_length": "train.max_seq_len", "lr_schedule": "train.schedule",
        "lr_scheduler_type": "train.schedule", "warmup_steps": "train.warmup", "adam_epsilon": "train.adam_eps",
        "gradient_checkpointing": "train.grad_checkpoint", "grad_clip": "train.max_grad_norm",
        "clip_grad_norm": "train.max_grad_norm", "num_threads": "train.threads",
        "train_micro_batch_size_per_gpu": "train.micro_batch_tokens", "micro_batch_size": "train.micro_batch_tokens",
        "r": "lora.rank", "lora_rank": "lora.rank", "lora_alpha": "lora.alpha", "lora_dropout": "lora.dropout",
        "target_modules": "lora.targets", "keys": "lora.targets", "num_layers": "lora.layers",
        "layers_to_transform": "lora.layers", "rslora": "lora.use_rslora", "lora_parameters": "lora",
        "save_every": "checkpoint.every", "save_steps": "checkpoint.every", "save_total_limit": "checkpoint.keep",
        "steps_per_eval": "eval.every", "eval_steps": "eval.every", "val_batches": "eval.batches",
        "early_stopping_patience": "eval.patience", "adapter_path": "output", "output_dir": "output",
        "resume_adapter_file": "lora.init_from", "train_file": "data.train", "valid_file": "data.valid", "validation_file": "data.valid",
    ]

    /// The fix to suggest for an unknown `key` in `section`: a foreign name's Tailor key, a near
    /// misspelling of a key of this section, or the same key in another section. Keys in the same section
    /// are given bare (`rank`), others as full paths (`train.lr`).
    static func suggestion(for key: String, in section: String) -> String? {
        if let target = foreignKeys[key] { return relative(target, to: section) }
        if let near = nearest(key, in: sections[section] ?? []) { return near }
        for (other, keys) in sections.sorted(by: { $0.key < $1.key }) where other != section && keys.contains(key) {
            return other.isEmpty ? key : "\(other).\(key)"
        }
        return nil
    }

    /// The nearest of `candidates` to `word` when the distance is small (a likely typo), else nil.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { (name: $0, distance: editDistance($0, word)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }),
            best.distance <= max(1, min(best.name.count, word.count) / 3)
        else { return nil }
        return best.name
    }

    private static func relative(_ path: String, to section: String) -> String {
        let parent = path.split(separator: ".").dropLast().joined(separator: ".")
        return parent == section ? String(path.split(separator: ".").last ?? Substring(path)) : path
    }

    /// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so `rnak` is one
    /// edit from `rank` (Damerau 1964; the restricted variant, as in most spell checkers).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
