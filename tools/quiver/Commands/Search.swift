import ArgumentParser
import Foundation
import Ingest
import Query

/// `quiver search QUESTION`: the collection's best chunks for a question, with sources.
struct Search: AsyncParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "Show the chunks most similar to QUESTION, with their sources.")

    @Argument(help: "The question or search text.") var question: String
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @Option(name: .short, help: "Number of results.") var k = 3
    @Option(help: "Metadata filter KEY=VALUE (repeatable).") var `where`: [String] = []
    @Option(help: "Local model folder, for collections built with it (default: $QUIVER_MODEL_DIR, else the setup cache).")
    var modelDir: String?
    @Option(help: "The embedding server's base URL, instead of the one the collection recorded (openai, ollama).")
    var baseURL: String?
    @OptionGroup var modeOptions: SearchModeOptions
    @Option(help: "IVF lists probed per query, for a collection with an IVF index (0: exact scan; default: the collection's).")
    var nprobe: Int?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func run() async throws {
        let store = try storeOptions.open(create: false)
        let target = try await store.collection(collection)
        let options = RetrievalOptions(k: k, filter: try Filters.parse(`where`), mode: modeOptions.mode, fusion: modeOptions.fusion)
        let mode = options.resolvedMode(for: target.info)
        // A keyword search needs no embedder (nor its model or server).
        let embedder = mode == .keyword ? nil : try EmbedderOptions.remembered(target, modelDirectory: modelDir, baseURL: baseURL)
        let vectors = try await embedder?.embed([question]) ?? []
        var request =
            mode == .dense
            ? SearchRequest(queries: vectors, k: k, filter: options.filter)
            : SearchRequest(texts: [question], vectors: vectors, k: k, filter: options.filter, mode: mode, fusion: options.fusion)
        request.nprobe = nprobe
        let response = try await target.search(request)
        let (batch, plan) = (response.hits, response.plan)
        let hits = batch[0]
        if verbosity.verbose { FileHandle.standardError.write(Data("search: \(TerminalText.line("\(plan)"))\n".utf8)) }
        if json {
            let object: [String: Any] = [
                "question": question,
                "mode": mode.rawValue,
                "hits": hits.map { h in
                    [
                        "id": h.id, "score": Double(h.score), "source": h.metadata[ChunkSchema.Key.source]?.description ?? "",
                        "position": ChunkSchema.position(h.metadata) ?? NSNull(), "text": h.text,
                    ] as [String: Any]
                },
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("Q: \(TerminalText.line(question))")
        for (i, h) in hits.enumerated() {
            let source =
                (h.metadata[ChunkSchema.Key.source]?.description ?? h.id) + (ChunkSchema.position(h.metadata).map { " \($0)" } ?? "")
            let title = h.metadata[ChunkSchema.Key.title].map { " — \($0)" } ?? ""
            let snippet = h.text.split(whereSeparator: \.isNewline).joined(separator: " ")
            print(TerminalText.line(String(format: "[%d] %.3f  %@%@", i + 1, h.score, source, title)))
            print("    " + TerminalText.block(snippet.count > 300 ? String(snippet.prefix(300)) + "…" : snippet))
        }
    }
}
