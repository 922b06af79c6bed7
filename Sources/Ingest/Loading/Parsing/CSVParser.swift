/// CSV (`.csv`, RFC 4180): by `Options.csv`, one document per row (ids `<file>#<row>`,
/// the header naming the columns) or the whole file as one document.
public struct CSVParser: DocumentParser {
    /// "csv".
    public var name: String { "csv" }
    /// `csv`.
    public var extensions: Set<String> { ["csv"] }

    /// A CSV parser.
    public init() {}

    /// The rows (or the file) as documents: with `textColumns`, those columns make the text
    /// and the others metadata; without, every column is a `name: value` line.
    ///
    /// - Throws: A `.binary` or `.invalidUTF8` `LoadIssue` (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (text, decodeIssues) = try input.decodeText()
        var issues = decodeIssues
        let base = input.metadata
        if case .wholeFile = input.options.csv {
            return DocumentLoader.Result(documents: [Document(id: input.id, text: text, metadata: base)], issues: issues)
        }
        let (rows, unclosed) = CSV.parseReporting(text)
        for line in unclosed {
            issues.append(
                LoadIssue(
                    path: input.id, kind: .malformed,
                    detail: "line \(line): a quote that never closes (it would swallow every row after it), read as a character"))
        }
        guard let header = rows.first else { return DocumentLoader.Result(issues: issues) }
        var textColumns: [String]?
        if case .rowPerDocument(let columns) = input.options.csv { textColumns = columns }
        let documents = rows.dropFirst().enumerated().map { n, row in
            var metadata = base
            var lines: [String] = []
            for (i, name) in header.enumerated() {
                let value = i < row.count ? row[i] : ""
                if let textColumns {
                    if textColumns.contains(name) { lines.append(value) } else { metadata[ChunkSchema.contentKey(name)] = .string(value) }
                } else {
                    lines.append("\(name): \(value)")
                }
            }
            return Document(id: "\(input.id)#\(n + 1)", text: lines.joined(separator: "\n"), metadata: metadata)
        }
        return DocumentLoader.Result(documents: documents, issues: issues)
    }
}
