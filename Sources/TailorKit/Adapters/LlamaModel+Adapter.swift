import Foundation

extension LlamaModel {
    /// Sets every adapter's A and B from `adapter` (training that continues from an existing adapter,
    /// `lora.init_from`). The adapter must have exactly this model's rank, scale, targets and blocks:
    /// anything else is an error listing each difference, with `path` naming the adapter. Dropout may
    /// differ (it only affects training).
    public func load(_ adapter: LoRAAdapter, path: String) throws {
        let mine = lora
        let theirs = adapter.settings
        var differences: [String] = []
        func differ(_ key: String, _ adapterValue: String, _ configValue: String) {
            differences.append("\(key): the adapter has \(adapterValue), the config \(configValue)")
        }
        if theirs.rank != mine.rank { differ("lora.rank", "\(theirs.rank)", "\(mine.rank)") }
        if theirs.alpha != mine.alpha { differ("lora.alpha", "\(theirs.alpha)", "\(mine.alpha)") }
        if theirs.useRSLoRA != mine.useRSLoRA { differ("lora.use_rslora", "\(theirs.useRSLoRA)", "\(mine.useRSLoRA)") }
        if Set(theirs.targets) != Set(mine.targets) {
            differ(
                "lora.targets", theirs.targets.sorted().map(\.rawValue).description,
                mine.targets.sorted().map(\.rawValue).description)
        }
        if Set(theirs.layers) != Set(mine.layers) {
            differ("lora.layers", theirs.layers.sorted().description, mine.layers.sorted().description)
        }
        guard differences.isEmpty else { throw AdapterError.settingsMismatch(path: path, differences: differences) }
        var byKey: [Int: [LoRATarget: AdapterWeights]] = [:]
        for w in adapter.weights { byKey[w.layer, default: [:]][w.target] = w }
        for a in adapters {
            guard let w = byKey[a.layer]?[a.target], w.a.count == a.lora.a.count, w.b.count == a.lora.b.count else {
                throw AdapterError.keys(path: path, missing: ["layer \(a.layer) \(a.target.rawValue)"], unexpected: [])
            }
            w.a.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress else { return }
                a.lora.a.data.update(from: s, count: src.count)
            }
            w.b.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress else { return }
                a.lora.b.data.update(from: s, count: src.count)
            }
        }
    }
}
