import ArgumentParser
import Query

extension SearchMode: ExpressibleByArgument {}

/// `--mode` and `--keyword-weight`, shared by `search`, `query` and `repl`.
struct SearchModeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "dense (embeddings), keyword (BM25: words, \"phrases\", +required, -excluded) or hybrid (both, fused); "
                + "default: \(SearchMode.preferred.rawValue) when the collection has a keyword index, else dense."))
    var mode: SearchMode?
    @Option(help: "Hybrid fusion by weighted scores with this keyword weight in 0…1 (default: reciprocal-rank fusion).")
    var keywordWeight: Double?

    func validate() throws {
        if let w = keywordWeight, !(0...1).contains(w) { throw ValidationError("--keyword-weight must be between 0 and 1") }
    }

    /// The fusion the flags ask for.
    var fusion: Fusion { keywordWeight.map { .weighted(keywordWeight: $0) } ?? .default }
}
