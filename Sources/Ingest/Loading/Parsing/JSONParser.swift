import Foundation
import VectorStore

/// JSON (`.json`): an object is one document, an array one document per object in it
/// (ids `<file>#<index>`, or `<file>#<its "id">`). The strings of
/// `Options.jsonTextFields` make the text; the other scalar fields become metadata.
public struct JSONParser: DocumentParser {
    /// "json".
    public var name: String { "json" }
    /// `json`.
    public var extensions: Set<String> { ["json"] }

    /// A JSON parser.
    public init() {}

    /// The documents of the file's object or array of objects.
    ///
    /// - Throws: An `.unreadable` `LoadIssue` when the file is not valid JSON, or a
    ///   `.binary` or `.invalidUTF8` one (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (text, issues) = try input.decodeText()
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw LoadIssue(path: input.id, kind: .unreadable, detail: "not valid JSON: \(error.localizedDescription)")
        }
        var documents: [Document] = []
        let fields = input.options.jsonTextFields
        if case .array(let items) = value {
            for (i, item) in items.enumerated() {
                if case .object(let dict) = item {
                    documents.append(Self.document(dict, id: "\(input.id)#\(i)", base: input.metadata, textFields: fields))
                }
            }
        } else if case .object(let dict) = value {
            documents.append(Self.document(dict, id: input.id, base: input.metadata, textFields: fields))
        }
        return DocumentLoader.Result(documents: documents, issues: issues)
    }

    /// One JSON object as a document: the strings of `textFields` as its text (joined by a
    /// blank line), the other fields as metadata (Quiver's own keys as `content.<key>`: see
    /// `ChunkSchema.contentKey`), its own `"id"` (if a string) in its id.
    static func document(_ dict: [String: JSONValue], id: String, base: [String: MetadataValue], textFields: [String]) -> Document {
        var parts: [String] = []
        var metadata = base
        for field in textFields {
            if case .string(let s)? = dict[field] { parts.append(s) }
        }
        for (key, value) in dict where !textFields.contains(key) {
            if let v = value.metadata { metadata[ChunkSchema.contentKey(key)] = v }
        }
        var docID = id
        if case .string(let own)? = dict["id"] { docID = "\(id.split(separator: "#").first.map(String.init) ?? id)#\(own)" }
        return Document(id: docID, text: parts.joined(separator: "\n\n"), metadata: metadata)
    }
}
