import Foundation
import TailorKit

extension NewRun {
    /// The row for training `config` (loaded by `ConfigLoader` from `configYAML`): the config as written
    /// and as resolved, and the sha256 of every file the run reads: the model (which, as a GGUF, is also
    /// the tokenizer), the train and valid data, and the chat template when it is a file.
    ///
    /// Hashing streams each file (about 1.5 GB/s with SHA-NI, so seconds even for multi-gigabyte models).
    public static func training(_ config: TrainingConfig, configPath: String?, configYAML: String) throws -> NewRun {
        let model = try RunInput.hashing(config.model, as: .model)
        var inputs = [model]
        if config.model.hasSuffix(".gguf") {
            inputs.append(RunInput(role: .tokenizer, path: model.path, bytes: model.bytes, sha256: model.sha256))
        }
        inputs.append(try RunInput.hashing(config.data.train, as: .train))
        if let valid = config.data.valid {
            inputs.append(try RunInput.hashing(valid, as: .valid))
        }
        if let template = config.data.chatTemplate, ConfigLoader.isTemplatePath(template),
            FileManager.default.fileExists(atPath: template)
        {
            inputs.append(try RunInput.hashing(template, as: .chatTemplate))
        }
        return NewRun(
            name: config.name, configPath: configPath, configYAML: configYAML,
            resolvedYAML: ConfigLoader.resolvedYAML(config), outputDirectory: config.outputDirectory,
            totalSteps: config.train.steps, inputs: inputs)
    }
}
