import Foundation
import Query
import TestSupport
import Testing

/// `--mode`, `:mode`, `reindex --keyword` and the keyword index built by `index`, through
/// the built `quiver`.
@Suite struct KeywordSearchCommandTests {
    static let data = CommandLineQueryTests.data

    func indexed(_ extra: [String] = []) throws -> (dir: TemporaryDirectory, store: String) {
        let dir = TemporaryDirectory("quiver-kw")
        let store = dir.sub("store")
        let r = try runProduct(["index", Self.data, "--store", store, "--embedder", "hash", "--json"] + extra)
        #expect(r.status == 0, "\(r.err)")
        return (dir, store)
    }

    func hits(_ r: ProcessOutput) -> [[String: Any]] {
        let object = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]) ?? [:]
        return object["hits"] as? [[String: Any]] ?? []
    }

    /// Every mode finds the rescue story; keyword operators hold; the plan says what ran.
    @Test func searchInEveryMode() throws {
        let (dir, store) = try indexed()
        defer { dir.remove() }
        let question = "Who rowed out to rescue the survivors?"
        for mode in ["keyword", "hybrid"] {
            let r = try runProduct(["search", question, "--store", store, "--mode", mode, "--json", "-v"])
            #expect(r.status == 0, "\(r.err)")
            #expect(hits(r).first?["source"] as? String == "keepers/famous-keepers.txt", "\(mode): \(r.out)")
            #expect(r.err.contains("search: \(mode):"), "\(r.err)")
        }
        // Without --mode, a collection with a keyword index searches hybrid.
        let plain = try runProduct(["search", question, "--store", store, "-v"])
        #expect(plain.err.contains("search: hybrid:"), "\(plain.err)")
        // An exclusion removes every chunk with the word; a phrase must appear as written.
        let excluded = hits(try runProduct(["search", "lighthouse -keeper", "--store", store, "--mode", "keyword", "-k", "50", "--json"]))
        #expect(!excluded.isEmpty)
        #expect(excluded.allSatisfy { !(($0["text"] as? String ?? "").lowercased().contains("keeper")) })
        let phrase = hits(try runProduct(["search", "\"Fresnel lens\"", "--store", store, "--mode", "hybrid", "-k", "50", "--json"]))
        #expect(!phrase.isEmpty)
        #expect(phrase.allSatisfy { ($0["text"] as? String ?? "").lowercased().contains("fresnel lens") })
        // Bad mode: a usage error, not a crash.
        let bad = try runProduct(["search", question, "--store", store, "--mode", "fuzzy"])
        #expect(bad.status == 2, "\(bad.err)")
    }

    /// A collection without a keyword index refuses keyword search with a hint, gets one
    /// from `reindex --keyword` (no embedding: the embedder is not needed), and loses it
    /// with `--drop`; `index` builds a missing one by itself.
    @Test func reindexBuildsAndDropsTheKeywordIndex() throws {
        let (dir, store) = try indexed(["--no-keyword-index"])
        defer { dir.remove() }
        let refused = try runProduct(["search", "lighthouse", "--store", store, "--mode", "keyword"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("reindex --keyword"), "\(refused.err)")
        let dense = try runProduct(["search", "lighthouse", "--store", store, "-v"])
        #expect(dense.status == 0 && dense.err.contains("search: scan:"), "\(dense.err)")

        let built = try runProduct(["reindex", "--keyword", "--store", store])
        #expect(built.status == 0, "\(built.err)")
        // 40: the sample corpus, its PDF pages and DOCX included.
        #expect(built.out.contains("keyword index built over 40 chunks"), "\(built.out)")
        #expect(built.err.contains("40/40 chunks"), "\(built.err)")
        // A new index reads each chunk's title too; --keyword-fields says otherwise.
        #expect(built.out.contains("(analyzer v1 english stem stop, fields title)"), "\(built.out)")
        let textOnly = try runProduct(["reindex", "--keyword", "--keyword-fields", "", "--store", store])
        #expect(textOnly.status == 0 && textOnly.out.contains("(analyzer v1 english stem stop)"), "\(textOnly.out)\(textOnly.err)")
        let twice = try runProduct(["reindex", "--keyword", "--keyword-fields", "title,title", "--store", store])
        #expect(twice.status != 0 && twice.err.contains("keyword field \"title\" is named twice"), "\(twice.err)")
        let restored = try runProduct(["reindex", "--keyword", "--keyword-fields", "title,heading", "--store", store])
        #expect(restored.out.contains("fields title,heading"), "\(restored.out)")
        let kept = try runProduct(["reindex", "--keyword", "--store", store])
        #expect(kept.out.contains("fields title,heading"), "a rebuild keeps the fields: \(kept.out)")
        let found = try runProduct(["search", "Grace Darling", "--store", store, "--mode", "keyword", "--json"])
        #expect(hits(found).first?["source"] as? String == "keepers/famous-keepers.txt")

        #expect(try runProduct(["reindex", "--keyword", "--drop", "--store", store]).status == 0)
        #expect(try runProduct(["search", "lighthouse", "--store", store, "--mode", "keyword"]).status != 0)
        // Indexing again (nothing changed) builds the missing index on the way.
        let again = try runProduct(["index", Self.data, "--store", store, "--embedder", "hash"])
        #expect(again.status == 0, "\(again.err)")
        #expect(again.err.contains("building the keyword index"), "\(again.err)")
        #expect(try runProduct(["search", "lighthouse", "--store", store, "--mode", "keyword"]).status == 0)
        // Another analyzer for the existing index is refused.
        let other = try runProduct(["index", Self.data, "--store", store, "--embedder", "hash", "--language", "french"])
        #expect(other.status != 0)
        #expect(other.err.contains("analyzer"), "\(other.err)")
        let unknown = try runProduct(["reindex", "--keyword", "--language", "klingon", "--store", store])
        #expect(unknown.status != 0 && unknown.err.contains("klingon"), "\(unknown.err)")
    }

    /// The console switches modes with `:mode` and says what ran with `:explain`.
    @Test func replModeCommand() throws {
        let (dir, store) = try indexed()
        defer { dir.remove() }
        let input = ":mode keyword\nWho rowed out to rescue the survivors?\n:explain\n:mode fuzzy\n:mode dense\n:stats\n:quit\n"
        let r = try runProduct(["repl", "--store", store], input: input)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("mode = keyword"))
        #expect(r.out.contains(": keyword: terms"), "\(r.out)")
        #expect(r.out.contains("usage: :mode dense|keyword|hybrid"))
        #expect(r.out.contains("mode = dense"))
        #expect(r.out.contains("mode        dense (keyword analyzer"), "\(r.out)")
    }
}
