import ArgumentParser
import Foundation
import Query

/// `quiver reindex --keyword`: builds (or rebuilds) a collection's keyword index from the
/// texts it holds, without embedding anything again.
struct Reindex: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build or rebuild a collection's keyword (BM25) index from its stored texts.",
        discussion: """
            Collections indexed before keyword search existed have no keyword index: this builds one, with \
            progress, in one transaction (searches see the old state until it commits). With analyzer flags it \
            rebuilds the index with another language or settings. No text is embedded again.
            """)
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @Flag(help: "Build the keyword index (the only index this command rebuilds today).") var keyword = false
    @Flag(help: "Remove the keyword index instead.") var drop = false
    @OptionGroup var analyzerOptions: AnalyzerOptions
    @Option(
        help: ArgumentHelp(
            "Metadata fields indexed with each chunk's text, comma-separated (\"\" for the text alone).",
            discussion: "Default: the fields the index was made with, or \"title\" for a collection without one.",
            valueName: "fields")) var keywordFields: String?
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        guard keyword || drop else { throw ValidationError("say what to rebuild: --keyword (or --drop to remove it)") }
    }

    func run() throws {
        try storeOptions.requireEmbedded("reindex")
        let store = try Store(path: storeOptions.path, options: .noCreate)
        let existing = try store.collection(collection)
        if drop {
            let had = try store.dropKeywordIndex(of: collection)
            print(
                had ? "\(TerminalText.line(collection)): keyword index removed" : "\(TerminalText.line(collection)): had no keyword index")
            return
        }
        let settings =
            try analyzerOptions.given ? analyzerOptions.settings() : existing.info.keywordAnalyzer ?? analyzerOptions.settings()
        let progress = KeywordIndexProgress(label: "keyword index of \(TerminalText.line(collection))")
        let started = Date()
        let fields: [String]? =
            keywordFields.map { KeywordIndexSettings.fields($0) } ?? (existing.info.keywordAnalyzer == nil ? [ChunkSchema.Key.title] : nil)
        let rebuilt = try store.buildKeywordIndex(of: collection, analyzer: settings, fields: fields) { progress.update($0, $1) }
        let count = try rebuilt.count()
        let indexed = rebuilt.info.keywordFields.isEmpty ? "" : ", fields " + rebuilt.info.keywordFields.joined(separator: ",")
        print(
            String(
                format: "%@: keyword index built over %d chunks in %.1f s (analyzer %@%@)", TerminalText.line(collection), count,
                Date().timeIntervalSince(started), settings.identifier, indexed))
    }
}
