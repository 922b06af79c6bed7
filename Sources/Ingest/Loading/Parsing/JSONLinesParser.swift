import Foundation

/// JSON Lines (`.jsonl`, `.ndjson`): one document per line holding an object (ids
/// `<file>#<line number>`, or `<file>#<its "id">`), made as `JSONParser` makes one. A line
/// that is not an object is reported and the others are kept.
public struct JSONLinesParser: DocumentParser {
    /// "jsonl".
    public var name: String { "jsonl" }
    /// `jsonl` and `ndjson`.
    public var extensions: Set<String> { ["jsonl", "ndjson"] }

    /// A JSON Lines parser.
    public init() {}

    /// A document per object line, and an `.unreadable` issue per line that is not one.
    ///
    /// - Throws: A `.binary` or `.invalidUTF8` `LoadIssue` (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        var (text, issues) = try input.decodeText()
        var documents: [Document] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard case .object(let dict)? = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)) else {
                issues.append(LoadIssue(path: input.id, kind: .unreadable, detail: "line \(n + 1) is not a JSON object"))
                continue
            }
            documents.append(
                JSONParser.document(dict, id: "\(input.id)#\(n + 1)", base: input.metadata, textFields: input.options.jsonTextFields))
        }
        return DocumentLoader.Result(documents: documents, issues: issues)
    }
}
