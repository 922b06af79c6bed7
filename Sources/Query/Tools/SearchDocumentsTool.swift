import Foundation
import QuiverCore

/// The built-in `search_documents` tool: a collection's retrieval, with the query, `k`, a
/// metadata filter and the search mode as arguments, and passages numbered for citation
/// across every search of one answer.
enum SearchDocumentsTool {
    static let name = "search_documents"

    /// The definition the model sees; `k` up to `maxK`.
    static func definition(maxK: Int) -> ToolDefinition {
        ToolDefinition(
            name: name,
            description: """
                Searches the document collection and returns numbered passages. Cite a passage by its number in \
                square brackets, like [3]. Search again with other words, or once per part of a question with several parts.
                """,
            parameters: [
                "type": "object",
                "properties": [
                    "query": ["type": "string", "description": "What to look for, in words likely to appear in the passages"],
                    "k": ["type": "integer", "description": "How many passages to return", "minimum": 1, "maximum": .int(maxK)],
                    "filter": [
                        "type": "object",
                        "description":
                            "Only passages whose metadata fields equal these values (a list: any of them), e.g. {\"doc\": \"guide.md\"}",
                    ],
                    "mode": ["type": "string", "enum": ["dense", "keyword", "hybrid"], "description": "How to search"],
                ],
                "required": ["query"],
            ])
    }

    /// The query and retrieval options the arguments ask for, on top of `base`.
    static func request(_ arguments: JSONValue, base: RetrievalOptions, maxK: Int) throws -> (String, RetrievalOptions) {
        guard let query = arguments["query"]?.stringValue, !query.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw QueryError(.invalidArgument, "search_documents needs a non-empty \"query\" string", input: name, expected: "query")
        }
        var options = base
        if let k = arguments["k"], k != .null {
            guard let n = k.intValue, n >= 1 else {
                throw QueryError(.invalidArgument, "search_documents: \"k\" must be a positive integer, got \(k.jsonText)", input: name)
            }
            options.k = min(n, maxK)
        }
        if let mode = arguments["mode"], mode != .null {
            guard let m = mode.stringValue.flatMap(SearchMode.init(rawValue:)) else {
                throw QueryError(
                    .invalidArgument, "search_documents: \"mode\" must be dense, keyword or hybrid, got \(mode.jsonText)", input: name)
            }
            options.mode = m
        }
        if let filter = arguments["filter"], filter != .null {
            guard case .object(let fields) = filter else {
                throw QueryError(.invalidArgument, "search_documents: \"filter\" must be an object of field values", input: name)
            }
            var clauses: [Filter] = try fields.sorted { $0.key < $1.key }.map { field, value in
                if case .array(let list) = value { return .isIn(field, try list.map { try metadata($0, field) }) }
                return .equals(field, try metadata(value, field))
            }
            if let existing = base.filter { clauses.insert(existing, at: 0) }
            if !clauses.isEmpty { options.filter = clauses.count == 1 ? clauses[0] : .and(clauses) }
        }
        return (query, options)
    }

    private static func metadata(_ value: JSONValue, _ field: String) throws -> MetadataValue {
        switch value {
        case .string(let s): return .string(s)
        case .int(let i): return .int(Int64(i))
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        default:
            throw QueryError(
                .invalidArgument, "search_documents: filter field \"\(field)\" needs a string, number or boolean, got \(value.jsonText)",
                input: name)
        }
    }
}

/// The passages one answer's searches found, numbered in the order found; safe from the
/// answer's concurrent tool calls.
final class SourceLedger: Sendable {
    private let sources = PosixMutex<[Citation]>([])

    /// Numbers `chunks` (a chunk seen before keeps its number) and returns the tool's text:
    /// `[n] reference` then the passage, per chunk, within `budget`.
    func add(_ chunks: [RetrievedChunk], budget: ContextBudget) -> String {
        let context = PromptContext(chunks: chunks, budget: budget)
        let numbered: [Citation] = sources.withLock { list in
            context.citations.map { c in
                if let seen = list.first(where: { $0.id == c.id }) { return seen }
                var fresh = c
                fresh.number = list.count + 1
                list.append(fresh)
                return fresh
            }
        }
        if numbered.isEmpty { return "No passages found." }
        return numbered.map { "[\($0.number)] \($0.reference)\n\($0.text)" }.joined(separator: "\n\n")
    }

    var all: [Citation] { sources.withLock { $0 } }
}
