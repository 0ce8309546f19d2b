import Foundation

/// Hyper-parameters of a Llama-family model (SPEC.md §1), read from GGUF metadata.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    public var name: String
    public var hiddenSize: Int
    public var layerCount: Int
    public var intermediateSize: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    /// Number of leading dims of each head that RoPE rotates.
    public var ropeDimensions: Int
    /// true: pairs (2i, 2i+1) (GGUF llama after llama.cpp's q/k permute); false: halves (i, i + d/2).
    public var ropeAdjacentPairs: Bool
    public var tiedEmbeddings: Bool

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    public init(
        architecture: String = "llama", name: String = "", hiddenSize: Int, layerCount: Int,
        intermediateSize: Int, headCount: Int, kvHeadCount: Int, headDim: Int? = nil, vocabSize: Int,
        contextLength: Int = 2048, rmsNormEps: Float = 1e-5, ropeTheta: Float = 10000,
        ropeDimensions: Int? = nil, ropeAdjacentPairs: Bool = true, tiedEmbeddings: Bool = true
    ) {
        self.architecture = architecture
        self.name = name
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.intermediateSize = intermediateSize
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? hiddenSize / headCount
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeDimensions = ropeDimensions ?? (headDim ?? hiddenSize / headCount)
        self.ropeAdjacentPairs = ropeAdjacentPairs
        self.tiedEmbeddings = tiedEmbeddings
    }
}

extension ModelConfig {
    /// Architectures whose GGUF layout and math are the Llama block of SPEC.md §1.
    public static let supportedArchitectures: Set<String> = ["llama"]

    /// Reads `{arch}.*` keys (llama.cpp `LLM_KV_*` names).
    public init(gguf: GGUFFile) throws {
        let arch = try gguf.string("general.architecture")
        guard Self.supportedArchitectures.contains(arch) else {
            throw GGUFError.wrongKeyType(
                path: gguf.path, key: "general.architecture", expected: "one of \(Self.supportedArchitectures.sorted())",
                found: "'\(arch)'")
        }
        let hidden = try gguf.int("\(arch).embedding_length")
        let heads = try gguf.int("\(arch).attention.head_count")
        let kvHeads = gguf.optionalInt("\(arch).attention.head_count_kv") ?? heads
        let headDim = gguf.optionalInt("\(arch).attention.key_length") ?? hidden / max(heads, 1)
        let embd = try gguf.requireTensor("token_embd.weight")
        let vocab = gguf.optionalInt("\(arch).vocab_size") ?? embd.shape[0]
        self.init(
            architecture: arch,
            name: gguf.optionalString("general.name") ?? "",
            hiddenSize: hidden,
            layerCount: try gguf.int("\(arch).block_count"),
            intermediateSize: try gguf.int("\(arch).feed_forward_length"),
            headCount: heads,
            kvHeadCount: kvHeads,
            headDim: headDim,
            vocabSize: vocab,
            contextLength: gguf.optionalInt("\(arch).context_length") ?? 2048,
            rmsNormEps: Float(try gguf.double("\(arch).attention.layer_norm_rms_epsilon")),
            ropeTheta: Float(gguf.optionalDouble("\(arch).rope.freq_base") ?? 10000),
            ropeDimensions: gguf.optionalInt("\(arch).rope.dimension_count") ?? headDim,
            ropeAdjacentPairs: true,
            tiedEmbeddings: gguf.tensor("output.weight") == nil)
        try validate(path: gguf.path)
    }

    func validate(path: String) throws {
        func bad(_ key: String, _ expected: String, _ found: Int) -> GGUFError {
            .wrongKeyType(path: path, key: "\(architecture).\(key)", expected: expected, found: "\(found)")
        }
        guard hiddenSize > 0 && hiddenSize <= 65536 else { throw bad("embedding_length", "1...65536", hiddenSize) }
        guard layerCount > 0 && layerCount <= 1024 else { throw bad("block_count", "1...1024", layerCount) }
        guard headCount > 0 && headCount <= 1024 else { throw bad("attention.head_count", "1...1024", headCount) }
        guard kvHeadCount > 0 && headCount % kvHeadCount == 0 else {
            throw bad("attention.head_count_kv", "a divisor of head_count \(headCount)", kvHeadCount)
        }
        guard headDim > 0 && headDim % 2 == 0 else { throw bad("attention.key_length", "a positive even number", headDim) }
        guard ropeDimensions > 0 && ropeDimensions <= headDim && ropeDimensions % 2 == 0 else {
            throw bad("rope.dimension_count", "an even number ≤ head dim \(headDim)", ropeDimensions)
        }
        guard intermediateSize > 0 else { throw bad("feed_forward_length", "> 0", intermediateSize) }
    }
}
