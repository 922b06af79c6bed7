import Foundation

/// A retrieval benchmark in BEIR's layout: `corpus.jsonl` (`_id`, `title`, `text`),
/// `queries.jsonl` (`_id`, `text`) and `qrels/*.tsv` (a header line, then query-id,
/// corpus-id, score; a score above 0 marks a relevant document).
struct BEIRDataset {
    struct Document {
        var id: String
        var title: String
        var text: String
    }

    struct Query {
        var id: String
        var text: String
    }

    var documents: [Document]
    /// The queries that have judgments, in file order.
    var queries: [Query]
    /// Relevant documents per query id; a query judged with no relevant document maps to an empty set.
    var relevant: [String: Set<String>]
    /// The qrels file read.
    var qrelsPath: String

    /// Ids of the queries with at least one relevant document: the ones metrics average over.
    var judgedQueryIDs: [String] { relevant.filter { !$0.value.isEmpty }.keys.sorted() }

    /// Reads `folder`; the qrels are `qrels/SPLIT.tsv`, or the only tsv there.
    ///
    /// - Throws: `BEIRFormatError` naming the file (and line) that is missing or malformed.
    static func load(_ folder: String, split: String) throws -> BEIRDataset {
        let corpusPath = folder + "/corpus.jsonl"
        let documents = try jsonLines(corpusPath, as: CorpusLine.self).map { line, row in
            guard !row._id.isEmpty else { throw BEIRFormatError(path: corpusPath, line: line, "empty \"_id\"") }
            return Document(id: row._id, title: row.title ?? "", text: row.text ?? "")
        }
        let qrelsPath = try qrelsFile(folder, split: split)
        let relevant = try qrels(qrelsPath)
        let queriesPath = folder + "/queries.jsonl"
        let queries = try jsonLines(queriesPath, as: QueryLine.self).compactMap { line, row -> Query? in
            guard !row._id.isEmpty else { throw BEIRFormatError(path: queriesPath, line: line, "empty \"_id\"") }
            return relevant[row._id] == nil ? nil : Query(id: row._id, text: row.text)
        }
        return BEIRDataset(documents: documents, queries: queries, relevant: relevant, qrelsPath: qrelsPath)
    }

    private struct CorpusLine: Decodable {
        var _id: String
        var title: String?
        var text: String?
    }

    private struct QueryLine: Decodable {
        var _id: String
        var text: String
    }

    /// `qrels/SPLIT.tsv` if there, else the folder's only tsv.
    static func qrelsFile(_ folder: String, split: String) throws -> String {
        let dir = folder + "/qrels"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw BEIRFormatError(path: dir, "no qrels folder (expected qrels/\(split).tsv)")
        }
        let tsv = names.filter { $0.hasSuffix(".tsv") }.sorted()
        if tsv.contains(split + ".tsv") { return dir + "/" + split + ".tsv" }
        guard tsv.count == 1 else {
            throw BEIRFormatError(
                path: dir,
                tsv.isEmpty
                    ? "no .tsv file" : "no \(split).tsv, and several others (\(tsv.joined(separator: ", "))): choose one with --split")
        }
        return dir + "/" + tsv[0]
    }

    /// Relevant documents per query; every judged query appears, even with no relevant one.
    static func qrels(_ path: String) throws -> [String: Set<String>] {
        var relevant: [String: Set<String>] = [:]
        for (number, line) in try lines(path) where number > 1 {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[0].isEmpty, !fields[1].isEmpty, let score = Int(fields[2]) else {
                throw BEIRFormatError(
                    path: path, line: number, "expected query-id<TAB>corpus-id<TAB>integer score, got \"\(line.prefix(80))\"")
            }
            if score > 0 {
                relevant[String(fields[0]), default: []].insert(String(fields[1]))
            } else if relevant[String(fields[0])] == nil {
                relevant[String(fields[0])] = []
            }
        }
        return relevant
    }

    /// The non-blank lines of a UTF-8 file with their numbers (from 1), a trailing CR removed.
    private static func lines(_ path: String) throws -> [(number: Int, text: Substring)] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw BEIRFormatError(path: path, "cannot be read (\(error.localizedDescription))")
        }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, line in
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            return trimmed.allSatisfy(\.isWhitespace) ? nil : (i + 1, trimmed)
        }
    }

    private static func jsonLines<T: Decodable>(_ path: String, as: T.Type) throws -> [(line: Int, row: T)] {
        let decoder = JSONDecoder()
        return try lines(path).map { number, line in
            do {
                return (number, try decoder.decode(T.self, from: Data(line.utf8)))
            } catch let DecodingError.keyNotFound(key, _) {
                throw BEIRFormatError(path: path, line: number, "no \"\(key.stringValue)\" field")
            } catch let DecodingError.typeMismatch(_, context) {
                throw BEIRFormatError(
                    path: path, line: number, "field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is not a string")
            } catch let DecodingError.valueNotFound(_, context) {
                throw BEIRFormatError(
                    path: path, line: number, "field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is null")
            } catch {
                throw BEIRFormatError(path: path, line: number, "not a JSON object")
            }
        }
    }
}

/// A BEIR file that is missing or malformed, with the line when there is one.
struct BEIRFormatError: Error, CustomStringConvertible {
    var path: String
    var line: Int?
    var message: String

    init(path: String, line: Int? = nil, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    var description: String { path + (line.map { ":\($0)" } ?? "") + ": " + message }
}
