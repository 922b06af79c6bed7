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
    @Option(help: "Hybrid fusion: the keyword ranking's weight in 0…1 (scores scaled per ranking; default 0.5).")
    var keywordWeight: Double?
    @Flag(help: "Hybrid fusion by reciprocal rank (k = 60) instead of weighted scores.") var rrf = false

    func validate() throws {
        if let w = keywordWeight, !(0...1).contains(w) { throw ValidationError("--keyword-weight must be between 0 and 1") }
        if rrf && keywordWeight != nil { throw ValidationError("--rrf and --keyword-weight are two different fusions: give one") }
    }

    /// The fusion the flags ask for.
    var fusion: Fusion { rrf ? .reciprocalRank(k: 60) : keywordWeight.map { .weighted(keywordWeight: $0) } ?? .default }
}
