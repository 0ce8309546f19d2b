import Foundation

extension PEFTAdapter {
    /// Reads a PEFT LoRA adapter directory for `config`'s base model; the weights `LlamaInference.apply`
    /// takes. See `load(directory:config:)`.
    public static func read(directory dir: URL, config: ModelConfig) throws -> [AdapterWeights] {
        try load(directory: dir, config: config).weights
    }

    /// Reads a PEFT LoRA adapter directory for `config`'s base model (SPEC.md §3), B rows moved to GGUF
    /// order. Strict: a missing or extra key, a rank or a shape that does not fit is an error listing
    /// them, and so is a PEFT feature Tailor cannot apply (DoRA, per-module ranks, biases, saved
    /// modules), never a silent no-op.
    public static func load(directory dir: URL, config: ModelConfig) throws -> LoRAAdapter {
        let cfgURL = dir.appendingPathComponent(configFile)
        let cfgPath = cfgURL.path
        guard let data = FileManager.default.contents(atPath: cfgPath) else {
            let reason =
                FileManager.default.fileExists(atPath: cfgPath)
                ? "permission denied" : "no such file (expected a PEFT adapter directory)"
            throw AdapterError.cannotRead(path: cfgPath, reason: reason)
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AdapterError.badConfig(path: cfgPath, key: "(root)", expected: "a JSON object")
        }
        let settings = try settings(json, path: cfgPath, layerCount: config.layerCount)
        let baseModel = json["base_model_name_or_path"] as? String ?? ""
        let weights = try readWeights(
            dir.appendingPathComponent(weightsFile), settings: settings, config: config)
        return LoRAAdapter(settings: settings, baseModel: baseModel, weights: weights)
    }

    /// The LoRA settings in `adapter_config.json`, rejecting what Tailor cannot apply.
    static func settings(_ json: [String: Any], path: String, layerCount: Int) throws -> LoRASettings {
        func bad(_ key: String, _ expected: String) -> AdapterError {
            .badConfig(path: path, key: key, expected: expected)
        }
        guard (json["peft_type"] as? String) == "LORA" else { throw bad("peft_type", "\"LORA\"") }
        guard let r = json["r"] as? Int, r > 0 else { throw bad("r", "a positive integer") }
        guard let alpha = (json["lora_alpha"] as? NSNumber)?.doubleValue, alpha.isFinite else {
            throw bad("lora_alpha", "a number")
        }
        let dropout = (json["lora_dropout"] as? NSNumber)?.doubleValue ?? 0
        let targets = try targetModules(json["target_modules"], path: path)
        try rejectUnsupported(json, path: path)
        let layers = try layersToTransform(json["layers_to_transform"], path: path, layerCount: layerCount)
        return LoRASettings(
            rank: r, alpha: Float(alpha), dropout: Float(dropout), targets: targets, layers: layers,
            useRSLoRA: json["use_rslora"] as? Bool ?? false)
    }

    /// Refuses PEFT options that change what the adapter computes and that Tailor does not implement,
    /// rather than loading an adapter that would silently behave differently.
    static func rejectUnsupported(_ json: [String: Any], path: String) throws {
        func isSet(_ key: String) -> Bool {
            switch json[key] {
            case nil, is NSNull: false
            case let b as Bool: b
            case let s as String: !s.isEmpty
            case let a as [Any]: !a.isEmpty
            case let d as [String: Any]: !d.isEmpty
            default: true
            }
        }
        let unsupported: [(key: String, expected: String)] = [
            ("use_dora", "false (DoRA is not supported)"),
            ("fan_in_fan_out", "false (Llama linears are stored [out, in])"),
            ("lora_bias", "false (LoRA biases are not supported)"),
            ("modules_to_save", "null (fully trained extra modules are not supported)"),
            ("rank_pattern", "empty (one rank for every module)"),
            ("alpha_pattern", "empty (one alpha for every module)"),
            ("layer_replication", "null (layer replication is not supported)"),
            ("alora_invocation_tokens", "null (activated LoRA is not supported)"),
            ("target_parameters", "null (LoRA on bare parameters is not supported)"),
            ("trainable_token_indices", "null (trainable token embeddings are not supported)"),
            ("use_qalora", "false (QALoRA is not supported)"),
        ]
        for (key, expected) in unsupported where isSet(key) {
            throw AdapterError.badConfig(path: path, key: key, expected: expected)
        }
        if let bias = json["bias"] as? String, bias != "none" {
            throw AdapterError.badConfig(path: path, key: "bias", expected: "\"none\" (biases are not supported)")
        }
    }

    /// `target_modules`: a list of linear names (`q_proj` or `self_attn.q_proj`), or `all-linear`.
    static func targetModules(_ value: Any?, path: String) throws -> [LoRATarget] {
        let valid = LoRATarget.allCases.map(\.rawValue)
        if let s = value as? String {
            guard s == LoRATarget.allLinearName else {
                throw AdapterError.badConfig(
                    path: path, key: "target_modules",
                    expected: "a list of names from \(valid) or \"all-linear\", found the pattern '\(s)'")
            }
            return LoRATarget.allCases
        }
        guard let names = value as? [String], !names.isEmpty else {
            throw AdapterError.badConfig(path: path, key: "target_modules", expected: "a list of module names")
        }
        var targets: Set<LoRATarget> = []
        for name in names {
            guard let t = LoRATarget.allCases.first(where: { $0.rawValue == name || $0.peftModule == name }) else {
                throw AdapterError.badConfig(
                    path: path, key: "target_modules", expected: "names from \(valid), found '\(name)'")
            }
            targets.insert(t)
        }
        return targets.sorted()
    }

    /// `layers_to_transform`: null (every block), one index, or a list of indices below `layerCount`.
    static func layersToTransform(_ value: Any?, path: String, layerCount: Int) throws -> [Int] {
        let expected = "null, a block index or a list of block indices in 0..<\(layerCount)"
        let layers: [Int]
        switch value {
        case nil, is NSNull: return Array(0..<layerCount)
        case let n as Int: layers = [n]
        case let list as [Int]: layers = list
        default: throw AdapterError.badConfig(path: path, key: "layers_to_transform", expected: expected)
        }
        guard !layers.isEmpty, layers.allSatisfy({ (0..<layerCount).contains($0) }), Set(layers).count == layers.count
        else {
            throw AdapterError.badConfig(
                path: path, key: "layers_to_transform", expected: "\(expected) without repeats, found \(layers)")
        }
        return layers.sorted()
    }

    /// A and B of every (layer, target) in `settings`, checked against the base; B in GGUF row order.
    static func readWeights(_ url: URL, settings s: LoRASettings, config: ModelConfig) throws -> [AdapterWeights] {
        let path = url.path
        let st: SafetensorsFile
        do { st = try SafetensorsFile(url: url) } catch let e as SafetensorsError { throw e } catch {
            throw AdapterError.cannotRead(path: path, reason: error.localizedDescription)
        }
        var expected: [String] = []
        for l in s.layers {
            for t in s.targets {
                expected += [key(layer: l, target: t, matrix: "A"), key(layer: l, target: t, matrix: "B")]
            }
        }
        let present = Set(st.names)
        let missing = expected.filter { !present.contains($0) }
        let unexpected = present.subtracting(expected).sorted()
        guard missing.isEmpty && unexpected.isEmpty else {
            throw AdapterError.keys(path: path, missing: missing, unexpected: unexpected)
        }
        var mismatches: [ShapeMismatch] = []
        for l in s.layers {
            for t in s.targets {
                let (inF, outF) = config.loraDimensions(of: t)
                for (name, shape) in [
                    (key(layer: l, target: t, matrix: "A"), [s.rank, inF]),
                    (key(layer: l, target: t, matrix: "B"), [outF, s.rank]),
                ] {
                    let e = try st.entry(name)
                    guard [.f32, .f16, .bf16].contains(e.dtype) else {
                        throw AdapterError.badDType(path: path, tensor: name, found: e.dtype.rawValue)
                    }
                    if e.shape != shape {
                        mismatches.append(ShapeMismatch(tensor: name, expected: shape, found: e.shape))
                    }
                }
            }
        }
        guard mismatches.isEmpty else { throw AdapterError.badShapes(path: path, mismatches: mismatches) }
        let scale = LoRAAdapter.scale(alpha: s.alpha, rank: s.rank, rsLoRA: s.useRSLoRA)
        var out: [AdapterWeights] = []
        for l in s.layers {
            for t in s.targets {
                let a = try st.floats(key(layer: l, target: t, matrix: "A"))
                let b = ggufOrderB(
                    try st.floats(key(layer: l, target: t, matrix: "B")), rank: s.rank, target: t, config: config)
                out.append(AdapterWeights(layer: l, target: t, rank: s.rank, scale: scale, a: a, b: b))
            }
        }
        return out
    }
}
