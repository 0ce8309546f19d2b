import XCTest

@testable import TailorKit

/// An adapter written in PEFT's layout and read back drives the inference path to the same result as the
/// training path (independent code: LoRALinear vs LlamaInference.addLoRA), through the q/k row permutation.
final class PEFTAdapterTests: XCTestCase {
    func testWrittenAdapterReadsBackAndMatchesTheTrainingForward() throws {
        var rng = TestRNG(seed: 21)
        let weights = try smolLM2Weights()
        let model = LlamaModel(
            weights: weights, lora: LoRASettings(rank: 4, alpha: 8, targets: LoRATarget.allCases, layers: [0, 7, 29]),
            seed: 4)
        for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.05 } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.write(model: model, to: dir, baseModelName: "SmolLM2-135M-Instruct")
        let loaded = try PEFTAdapter.read(directory: dir, config: weights.config)
        XCTAssertEqual(loaded.count, 21)

        let ids = try smolLM2Tokenizer().encode(
            "The lighthouse keeper climbed the stairs every evening to light the lamp.", addSpecialTokens: false)
        let T = ids.count
        let labels = Array(ids.dropFirst()) + [-1]
        let batch = TrainingBatch(rows: 1, seqLen: T, tokens: ids, labels: labels)
        let trainingNLL = model.step(
            batch, workspace: TrainingWorkspace(model: model, rows: 1, seqLen: T), lossScale: 1, backward: false
        ).nllSum

        let inf = LlamaInference(weights: weights, contextLength: 64, maxBatch: 64)
        func nll() throws -> Double {
            inf.reset()
            let all = Array(try inf.forward(ids, logits: .all))
            let V = weights.config.vocabSize
            var total = 0.0
            for t in 0..<(T - 1) {
                let row = all[t * V..<(t + 1) * V]
                let mx = row.max() ?? 0
                total +=
                    Double(mx) + log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) })
                    - Double(row[row.startIndex + Int(ids[t + 1])])
            }
            return total
        }
        let baseNLL = try nll()
        inf.apply(adapter: loaded)
        let adaptedNLL = try nll()
        XCTAssertGreaterThan(abs(adaptedNLL - baseNLL), 0.05, "the adapter must change the model")
        XCTAssertEqual(adaptedNLL, trainingNLL, accuracy: 1e-4 * abs(trainingNLL))
    }

    /// The model path streams A and B from the live buffers with B's q/k rows gathered into Hugging Face
    /// order; the LoRAAdapter path permutes copies. Both must write the same bytes.
    func testStreamedAndCopiedWritesAreIdentical() throws {
        var rng = TestRNG(seed: 8)
        let weights = try smolLM2Weights()
        let model = LlamaModel(
            weights: weights, lora: LoRASettings(rank: 3, alpha: 6, targets: LoRATarget.allCases, layers: [2, 11]), seed: 9)
        for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() } }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try PEFTAdapter.write(model: model, to: root.appendingPathComponent("streamed"), baseModelName: "base")
        try PEFTAdapter.write(
            LoRAAdapter(model: model, baseModel: "base"), config: weights.config, to: root.appendingPathComponent("copied"))
        for f in [PEFTAdapter.weightsFile, PEFTAdapter.configFile] {
            let streamed = try Data(contentsOf: root.appendingPathComponent("streamed/\(f)"))
            XCTAssertEqual(streamed, try Data(contentsOf: root.appendingPathComponent("copied/\(f)")), f)
        }
        // And the q rows really moved: HF row 1 of B is GGUF row 2 (head 0: pairs (0,1),(2,3)… → halves).
        let st = try SafetensorsFile(url: root.appendingPathComponent("streamed/\(PEFTAdapter.weightsFile)"))
        let q = try XCTUnwrap(model.adapters.first { $0.target == .qProj }).lora
        let hf = try st.floats(PEFTAdapter.key(layer: 2, target: .qProj, matrix: "B"))
        XCTAssertEqual(Array(hf[3..<6]), [q.b[2, 0], q.b[2, 1], q.b[2, 2]])
    }

    func testKeysThatDoNotFitAreListed() throws {
        let weights = try smolLM2Weights()
        let model = LlamaModel(weights: weights, lora: LoRASettings(rank: 2, alpha: 4, targets: [.qProj], layers: [3]))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.write(model: model, to: dir, baseModelName: "x")
        // Claim v_proj too: its keys are missing from the safetensors file.
        var cfg = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json")))
                as? [String: Any])
        cfg["target_modules"] = ["q_proj", "v_proj"]
        try JSONSerialization.data(withJSONObject: cfg).write(to: dir.appendingPathComponent("adapter_config.json"))
        XCTAssertThrowsError(try PEFTAdapter.read(directory: dir, config: weights.config)) { e in
            guard case let .keys(_, missing, unexpected) = e as? AdapterError else { return XCTFail("\(e)") }
            XCTAssertEqual(
                missing,
                [
                    "base_model.model.model.layers.3.self_attn.v_proj.lora_A.weight",
                    "base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight",
                ])
            XCTAssertEqual(unexpected, [])
            XCTAssertTrue(e.localizedDescription.contains("v_proj"))
        }
    }
}

/// Adapters that do not fit the base, or use PEFT options Tailor cannot apply, are errors that list
/// what is wrong (SPEC.md §3), never a silent no-op.
final class PEFTAdapterErrorTests: XCTestCase {
    /// A PEFT directory with q_proj and v_proj adapters of rank 2 on blocks 3 and 4.
    func writeAdapter() throws -> (URL, ModelConfig) {
        let weights = try smolLM2Weights()
        let model = LlamaModel(
            weights: weights, lora: LoRASettings(rank: 2, alpha: 4, targets: [.qProj, .vProj], layers: [3, 4]))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.write(model: model, to: dir, baseModelName: "x")
        return (dir, weights.config)
    }

    func editConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("adapter_config.json")
        var cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: url)
    }

    /// Rewrites adapter_model.safetensors with `edit` applied to its (name → (dtype, shape, bytes)) map.
    func editTensors(_ dir: URL, _ edit: (inout [String: (SafetensorsDType, [Int], Data)]) -> Void) throws {
        let url = dir.appendingPathComponent("adapter_model.safetensors")
        let st = try SafetensorsFile(url: url)
        var tensors: [String: (SafetensorsDType, [Int], Data)] = [:]
        for name in st.names {
            let e = try st.entry(name)
            tensors[name] = (e.dtype, e.shape, Data(try st.bytes(name)))
        }
        edit(&tensors)
        var w = SafetensorsWriter()
        for (name, t) in tensors { w.add(name, dtype: t.0, shape: t.1, bytes: t.2) }
        try w.write(to: url)
    }

    func assertAdapterError(
        _ dir: URL, _ config: ModelConfig, file: StaticString = #filePath, line: UInt = #line,
        _ check: (AdapterError) -> Void
    ) {
        XCTAssertThrowsError(try PEFTAdapter.read(directory: dir, config: config), file: file, line: line) { e in
            guard let e = e as? AdapterError else { return XCTFail("\(e)", file: file, line: line) }
            check(e)
        }
    }

    func testExtraAndMissingKeysAreListed() throws {
        let (dir, config) = try writeAdapter()
        try editTensors(dir) { t in
            t["base_model.model.lm_head.lora_A.weight"] = (.f32, [2, 576], Data(count: 2 * 576 * 4))
            t["base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight"] = nil
        }
        assertAdapterError(dir, config) { e in
            XCTAssertEqual(
                e,
                .keys(
                    path: dir.appendingPathComponent("adapter_model.safetensors").path,
                    missing: ["base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight"],
                    unexpected: ["base_model.model.lm_head.lora_A.weight"]))
            XCTAssertTrue(
                e.localizedDescription.contains("unexpected: base_model.model.lm_head.lora_A.weight"),
                e.localizedDescription)
        }
    }

    func testARankThatDoesNotFitListsEveryTensor() throws {
        let (dir, config) = try writeAdapter()
        try editConfig(dir) { $0["r"] = 4 }
        assertAdapterError(dir, config) { e in
            guard case let .badShapes(_, mismatches) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(mismatches.count, 8, "A and B of q and v in 2 blocks")
            XCTAssertEqual(
                mismatches.first,
                ShapeMismatch(
                    tensor: "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight", expected: [4, 576],
                    found: [2, 576]))
            XCTAssertTrue(e.localizedDescription.contains("(+3 more)"), e.localizedDescription)
        }
    }

    func testAShapeFromAnotherBaseIsAnError() throws {
        let (dir, config) = try writeAdapter()
        // v_proj of a model with 4 KV heads instead of 3: B [256, 2] where SmolLM2 has [192, 2].
        try editTensors(dir) { t in
            t["base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight"] = (
                .f32, [256, 2], Data(count: 256 * 2 * 4)
            )
        }
        assertAdapterError(dir, config) { e in
            XCTAssertEqual(
                e,
                .badShapes(
                    path: dir.appendingPathComponent("adapter_model.safetensors").path,
                    mismatches: [
                        ShapeMismatch(
                            tensor: "base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight",
                            expected: [192, 2], found: [256, 2])
                    ]))
        }
    }

    func testIntegerTensorsAreRefused() throws {
        let (dir, config) = try writeAdapter()
        try editTensors(dir) { t in
            t["base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"] = (
                .i32, [2, 576], Data(count: 2 * 576 * 4)
            )
        }
        assertAdapterError(dir, config) { e in
            guard case let .badDType(_, tensor, found) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(tensor, "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight")
            XCTAssertEqual(found, "I32")
        }
    }

    func testPEFTOptionsTailorCannotApplyAreRefusedByName() throws {
        let cases: [(key: String, value: Any)] = [
            ("use_dora", true), ("rank_pattern", ["q_proj": 8]), ("alpha_pattern", ["v_proj": 32]),
            ("modules_to_save", ["lm_head"]), ("bias", "lora_only"), ("fan_in_fan_out", true),
            ("target_modules", ".*\\.q_proj"), ("layers_to_transform", [3, 30]), ("peft_type", "IA3"),
            ("alora_invocation_tokens", [1, 2]),
        ]
        for (key, value) in cases {
            let (dir, config) = try writeAdapter()
            try editConfig(dir) { $0[key] = value }
            assertAdapterError(dir, config) { e in
                guard case let .badConfig(path, k, _) = e else { return XCTFail("\(key): \(e)") }
                XCTAssertEqual(k, key)
                XCTAssertTrue(path.hasSuffix("adapter_config.json"))
            }
        }
    }

    func testPEFTSpellingsTailorAcceptsLoadTheSameWeights() throws {
        let (dir, config) = try writeAdapter()
        let reference = try PEFTAdapter.read(directory: dir, config: config)
        // What save_pretrained may write: module paths, a set in another order, zero-valued options.
        try editConfig(dir) {
            $0["target_modules"] = ["self_attn.v_proj", "q_proj"]
            $0["use_dora"] = false
            $0["rank_pattern"] = [String: Any]()
            $0["exclude_modules"] = NSNull()
            $0["megatron_config"] = NSNull()
        }
        XCTAssertEqual(try PEFTAdapter.read(directory: dir, config: config), reference)
    }

    func testMissingDirectoryNamesTheConfigFile() throws {
        let config = try smolLM2Weights().config
        XCTAssertThrowsError(
            try PEFTAdapter.read(directory: URL(fileURLWithPath: "/nonexistent/adapter"), config: config)
        ) { e in
            XCTAssertTrue(
                e.localizedDescription.contains("/nonexistent/adapter/adapter_config.json"), e.localizedDescription)
        }
    }
}
