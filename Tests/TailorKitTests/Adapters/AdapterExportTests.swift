import XCTest

@testable import TailorKit

/// Exports to mlx-lm's layout and to llama.cpp's LoRA GGUF, read back and compared with the adapter
/// they came from (SPEC.md §3): transposes, q/k row order, scale or alpha, names, shapes, dtypes.
/// scripts/verify-adapters.sh checks the same files in mlx-lm's and llama.cpp's own loaders' terms
/// (llama.cpp numerically).
final class AdapterExportTests: XCTestCase {
    /// A SmolLM2 adapter on a block subset with random nonzero A and B.
    func randomAdapter(
        rank: Int = 3, alpha: Float = 6, rsLoRA: Bool = false, layers: [Int] = [2, 5, 29],
        targets: [LoRATarget] = LoRATarget.allCases, seed: UInt64 = 11
    ) throws -> (LlamaModel, LoRAAdapter) {
        var rng = TestRNG(seed: seed)
        let model = LlamaModel(
            weights: try smolLM2Weights(),
            lora: LoRASettings(rank: rank, alpha: alpha, targets: targets, layers: layers, useRSLoRA: rsLoRA),
            seed: seed)
        for a in model.adapters {
            for i in 0..<a.lora.a.count { a.lora.a.data[i] = rng.normal() * 0.1 }
            for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.05 }
        }
        return (model, LoRAAdapter(model: model, baseModel: "SmolLM2-135M-Instruct.Q4_1.gguf"))
    }

    func temporaryURL(_ name: String, extension ext: String? = nil) -> URL {
        var url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-\(name)-\(UUID().uuidString)")
        if let ext { url.appendPathExtension(ext) }
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testMLXExportTransposesAAndBAndFillsGapBlocksWithZeros() throws {
        let (model, adapter) = try randomAdapter()
        let config = model.config
        let dir = temporaryURL("mlx")
        try MLXAdapter.write(adapter, config: config, to: dir)
        // The PEFT file is the independent reference for B's Hugging Face row order.
        let peftDir = temporaryURL("peft")
        try PEFTAdapter.write(adapter, config: config, to: peftDir)
        let peft = try SafetensorsFile(url: peftDir.appendingPathComponent(PEFTAdapter.weightsFile))

        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json")))
                as? [String: Any])
        XCTAssertEqual(json["fine_tune_type"] as? String, "lora")
        XCTAssertEqual(json["num_layers"] as? Int, 28, "blocks 2...29: mlx-lm adapts the last num_layers blocks")
        let params = try XCTUnwrap(json["lora_parameters"] as? [String: Any])
        XCTAssertEqual(params["rank"] as? Int, 3)
        XCTAssertEqual((params["scale"] as? NSNumber)?.doubleValue ?? 0, 2, accuracy: 1e-12, "alpha / r")
        XCTAssertEqual(
            params["keys"] as? [String],
            [
                "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                "mlp.up_proj", "mlp.down_proj",
            ])

        let st = try SafetensorsFile(url: dir.appendingPathComponent("adapters.safetensors"))
        XCTAssertEqual(st.metadata["format"], "mlx")
        XCTAssertEqual(st.names.count, 28 * 7 * 2)
        let r = 3
        for l in 2..<30 {
            for t in LoRATarget.allCases {
                let (inF, outF) = config.loraDimensions(of: t)
                let ka = "model.layers.\(l).\(t.peftModule).lora_a"
                let kb = "model.layers.\(l).\(t.peftModule).lora_b"
                XCTAssertEqual(try st.entry(ka).shape, [inF, r], ka)
                XCTAssertEqual(try st.entry(kb).shape, [r, outF], kb)
                XCTAssertEqual(try st.entry(ka).dtype, .f32)
                let a = try st.floats(ka)
                let b = try st.floats(kb)
                guard let w = adapter.weights.first(where: { $0.layer == l && $0.target == t }) else {
                    XCTAssertTrue(a.allSatisfy { $0 == 0 } && b.allSatisfy { $0 == 0 }, "gap block \(l) \(t)")
                    continue
                }
                let bPEFT = try peft.floats(PEFTAdapter.key(layer: l, target: t, matrix: "B"))  // [out, r], HF rows
                for i in 0..<r {
                    for j in 0..<inF where a[j * r + i] != w.a[i * inF + j] {
                        return XCTFail("\(ka)[\(j), \(i)] = \(a[j * r + i]), A[\(i), \(j)] = \(w.a[i * inF + j])")
                    }
                    for o in 0..<outF where b[i * outF + o] != bPEFT[o * r + i] {
                        return XCTFail(
                            "\(kb)[\(i), \(o)] = \(b[i * outF + o]), PEFT B[\(o), \(i)] = \(bPEFT[o * r + i])")
                    }
                }
            }
        }
        // q/k rows really moved: the mlx (HF-order) B of q_proj is not Tailor's GGUF-order B transposed.
        let q = try XCTUnwrap(adapter.weights.first { $0.layer == 2 && $0.target == .qProj })
        let bq = try st.floats("model.layers.2.self_attn.q_proj.lora_b")
        XCTAssertNotEqual(bq[1], q.b[1 * r + 0], "row 1 of GGUF order is row D/2 of HF order")
        XCTAssertEqual(bq[config.headDim / 2], q.b[1 * r + 0])
    }

    func testMLXScaleOfRSLoRAIsAlphaOverSquareRootOfRank() throws {
        let (model, adapter) = try randomAdapter(rank: 4, alpha: 6, rsLoRA: true, layers: [29], targets: [.vProj])
        let dir = temporaryURL("mlx-rs")
        try MLXAdapter.write(adapter, config: model.config, to: dir, type: .f16)
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json")))
                as? [String: Any])
        let params = try XCTUnwrap(json["lora_parameters"] as? [String: Any])
        XCTAssertEqual((params["scale"] as? NSNumber)?.doubleValue ?? 0, 3, accuracy: 1e-12)
        XCTAssertEqual(json["num_layers"] as? Int, 1)
        let st = try SafetensorsFile(url: dir.appendingPathComponent("adapters.safetensors"))
        XCTAssertEqual(try st.entry("model.layers.29.self_attn.v_proj.lora_a").dtype, .f16)
        let w = adapter.weights[0]
        let a = try st.floats("model.layers.29.self_attn.v_proj.lora_a")  // [in, r]
        assertClose(a[0..<4].map { $0 }, (0..<4).map { w.a[$0 * 576] }, atol: 1e-6, rtol: 1e-3, "F16 lora_a row 0")
    }

    func testGGUFExportReadsBackWithMetadataNamesShapesAndValues() throws {
        let (model, adapter) = try randomAdapter()
        let url = temporaryURL("lora", extension: "gguf")
        try GGUFLoRAAdapter.write(adapter, config: model.config, to: url)
        let file = try GGUFFile(path: url.path)
        XCTAssertEqual(file.metadata["general.architecture"], .string("llama"))
        XCTAssertEqual(file.metadata["general.type"], .string("adapter"))
        XCTAssertEqual(file.metadata["adapter.type"], .string("lora"))
        XCTAssertEqual(file.metadata["adapter.lora.alpha"], .float32(6))
        XCTAssertEqual(file.metadata["general.file_type"], .uint32(0))
        XCTAssertEqual(file.metadataKeys.first, "general.architecture")
        XCTAssertEqual(file.tensors.count, 3 * 7 * 2)
        for w in adapter.weights {
            let (inF, outF) = model.config.loraDimensions(of: w.target)
            // GGUF dims are innermost first: lora_a [in, r], lora_b [r, out], as llama.cpp checks them
            // against the base tensor's [in, out]; GGUFTensorInfo.shape is outermost first.
            let a = try file.requireTensor("blk.\(w.layer).\(w.target.ggufName).weight.lora_a", shape: [w.rank, inF])
            let b = try file.requireTensor("blk.\(w.layer).\(w.target.ggufName).weight.lora_b", shape: [outF, w.rank])
            XCTAssertEqual(a.type, .f32)
            XCTAssertEqual(floats(file, a), w.a, a.name)
            XCTAssertEqual(floats(file, b), w.b, "\(b.name): GGUF row order, as the base's q/k rows")
        }
        let base = try GGUFFile(path: try smolLM2Path())
        for w in adapter.weights {
            let t = try XCTUnwrap(base.tensor("blk.\(w.layer).\(w.target.ggufName).weight"), "base tensor name")
            let (inF, outF) = model.config.loraDimensions(of: w.target)
            XCTAssertEqual(t.shape, [outF, inF])
        }
    }

    func testGGUFExportOfRSLoRAScalesAlphaAndF16RoundsValues() throws {
        let (model, adapter) = try randomAdapter(rank: 4, alpha: 6, rsLoRA: true, layers: [0], targets: [.kProj])
        let url = temporaryURL("lora-rs", extension: "gguf")
        try GGUFLoRAAdapter.write(adapter, config: model.config, to: url, type: .f16)
        let file = try GGUFFile(path: url.path)
        // llama.cpp scales by alpha / r: alpha·√r = 12 gives alpha / √r = 3.
        XCTAssertEqual(file.metadata["adapter.lora.alpha"], .float32(12))
        XCTAssertEqual(file.metadata["general.file_type"], .uint32(1))
        let b = try file.requireTensor("blk.0.attn_k.weight.lora_b", shape: [192, 4])
        XCTAssertEqual(b.type, .f16)
        assertClose(floats(file, b), adapter.weights[0].b, atol: 1e-4, rtol: 1e-3, "F16 lora_b")
    }

    /// F32 or F16 tensor data as Floats.
    func floats(_ file: GGUFFile, _ t: GGUFTensorInfo) -> [Float] {
        let p = file.data(of: t)
        switch t.type {
        case .f32: return (0..<t.elementCount).map { p.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        case .f16:
            return (0..<t.elementCount).map {
                Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
            }
        default: return []
        }
    }

    func testInitFromCopiesTheAdapterAndRefusesDifferentSettings() throws {
        let (_, adapter) = try randomAdapter(rank: 3, alpha: 6, layers: [2, 5], targets: [.qProj, .downProj])
        let weights = try smolLM2Weights()
        let same = LlamaModel(
            weights: weights,
            lora: LoRASettings(rank: 3, alpha: 6, dropout: 0.1, targets: [.downProj, .qProj], layers: [5, 2]))
        try same.load(adapter, path: "adapters/x")
        XCTAssertEqual(LoRAAdapter(model: same, baseModel: "").weights, adapter.weights)

        let other = LlamaModel(
            weights: weights, lora: LoRASettings(rank: 4, alpha: 6, targets: [.qProj, .vProj], layers: [2, 5]))
        XCTAssertThrowsError(try other.load(adapter, path: "adapters/x")) { e in
            guard case let .settingsMismatch(path, differences) = e as? AdapterError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "adapters/x")
            XCTAssertEqual(differences.count, 2, "\(differences)")
            XCTAssertTrue(differences[0].hasPrefix("lora.rank: the adapter has 3, the config 4"), differences[0])
            XCTAssertTrue(differences[1].hasPrefix("lora.targets"), differences[1])
        }
    }
}
