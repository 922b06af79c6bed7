import ArgumentParser
import Foundation
import Ingest

/// `quiver embed TEXT…`: prints each text's vector (and token ids), for debugging and for
/// checking against other implementations.
struct Embed: AsyncParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the vector of each TEXT (one line of numbers per text).",
        discussion: """
            With --tokens, a line of the local model's token ids precedes each vector. With --json, one \
            JSON object per line and text: {"text", "tokens", "vector"} (tokens null for embedders \
            without a local tokenizer).
            """)

    @Argument(help: "Texts to embed.") var texts: [String]
    @OptionGroup var embedderOptions: EmbedderOptions
    @Flag(help: "Print one JSON object per text.") var json = false
    @Flag(help: "Print the token ids too (local embedder).") var tokens = false
    @OptionGroup var verbosity: VerboseOptions

    func run() async throws {
        let embedder = try embedderOptions.make()
        let tokenizer = (embedder as? LocalEmbedder)?.tokenizer
        if tokens && tokenizer == nil {
            throw ValidationError("--tokens needs --embedder local (\(embedder.identifier) has no tokenizer here)")
        }
        // Through the batch embedder: a server's per-request limits apply to many texts.
        let result = await BatchEmbedder(embedder, batchSize: embedder.limits.maxInputsPerRequest, concurrency: 4).embed(texts)
        if let failure = result.failures.first { throw CLIError("embedding failed for \(failure)") }
        let vectors = result.vectors.map { $0 ?? [] }
        var out = ""
        for (text, vector) in zip(texts, vectors) {
            let ids = tokenizer?.encode(text)
            if json {
                // Vectors as Float's shortest round-tripping spelling (JSONSerialization
                // would widen them to Double's 17 digits).
                let quoted = try JSONSerialization.data(withJSONObject: [text], options: .withoutEscapingSlashes)
                let textJSON = String(decoding: quoted, as: UTF8.self).dropFirst().dropLast()
                let tokensJSON = ids.map { "[" + $0.map(String.init).joined(separator: ",") + "]" } ?? "null"
                let vectorJSON = "[" + vector.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
                out += "{\"text\":\(textJSON),\"tokens\":\(tokensJSON),\"vector\":\(vectorJSON)}\n"
            } else {
                if tokens, let ids { out += "tokens: " + ids.map(String.init).joined(separator: " ") + "\n" }
                out += vector.map { "\($0)" }.joined(separator: " ") + "\n"
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
