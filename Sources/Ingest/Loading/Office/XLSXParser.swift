import VectorStore

/// Reads Excel workbooks (`.xlsx`): one document per sheet with values
/// (`<file>#sheet<n>`, metadata `sheet` = its name), its rows as a pipe table whose first
/// row is the header; cells keep their column (an empty cell stays an empty column).
/// Values are as stored: shared and inline strings, numbers as written (a date is its
/// serial number), booleans as TRUE/FALSE, formulas by their cached result.
public struct XLSXParser: DocumentParser {
    /// A parser.
    public init() {}

    /// "xlsx".
    public var name: String { "xlsx" }

    /// `xlsx`.
    public var extensions: Set<String> { ["xlsx"] }

    /// The document id of sheet `sheet` (from 1, in the workbook's order) of `file`.
    public static func sheetID(file: String, sheet: Int) -> String { "\(file)#sheet\(sheet)" }

    /// One document per sheet.
    ///
    /// - Throws: a `LoadIssue` naming the file: `.tooLarge` (a zip bomb), `.unreadable`
    ///   (damaged, not an XLSX, malformed XML, a DTD).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let container = try OfficeContainer(input, format: "XLSX") { name in
            name.hasPrefix("xl/") && (name.hasSuffix(".xml") || name.hasSuffix(".rels")) || name == "docProps/core.xml"
        }
        let strings = try sharedStrings(container)
        let sheets = try sheetList(container)
        let (title, author) = try CoreProperties.read(container, "docProps/core.xml")
        var base = input.metadata
        if let title { base[ChunkSchema.Key.title] = .string(title) }
        if let author { base[ChunkSchema.Key.author] = .string(author) }
        var documents: [Document] = []
        for (i, sheet) in sheets.enumerated() {
            guard let bytes = container.entry(sheet.part) else { continue }
            var writer = MarkdownWriter()
            writer.table(try rows(container, sheet.part, bytes, strings: strings))
            var metadata = base
            metadata[ChunkSchema.Key.sheet] = .string(sheet.name)
            documents.append(Document(id: Self.sheetID(file: input.id, sheet: i + 1), text: writer.text, metadata: metadata))
        }
        return DocumentLoader.Result(documents: documents)
    }

    /// The shared strings table (xl/sharedStrings.xml): each `si`'s text, rich runs joined.
    func sharedStrings(_ container: OfficeContainer) throws(LoadIssue) -> [String] {
        guard let bytes = container.entry("xl/sharedStrings.xml") else { return [] }
        var strings: [String] = []
        var current = ""
        var inText = false
        var phonetic = false
        try container.xml("xl/sharedStrings.xml", bytes) { event throws(LoadIssue) in
            switch event {
            case .start("si", _, let empty):
                current = ""
                if empty { strings.append("") }
            case .end("si"): strings.append(current)
            case .start("rPh", _, false): phonetic = true  // reading aids of East Asian text
            case .end("rPh"): phonetic = false
            case .start("t", _, let empty): inText = !empty && !phonetic
            case .end("t"): inText = false
            case .text(let s): if inText { current += s }
            default: break
            }
        }
        return strings
    }

    /// The sheets (name, entry) in the workbook's order.
    func sheetList(_ container: OfficeContainer) throws(LoadIssue) -> [(name: String, part: String)] {
        let bytes = try container.required("xl/workbook.xml")
        let relationships = try container.relationships(of: "xl/workbook.xml")
        var sheets: [(String, String)] = []
        try container.xml("xl/workbook.xml", bytes) { event throws(LoadIssue) in
            if case .start("sheet", let a, _) = event, let name = a["name"],
                let id = a["id", namespace: PPTXParser.officeRelationships], let part = relationships[id]?.target
            {
                sheets.append((name, part))
            }
        }
        return sheets
    }

    /// A sheet's rows of cell texts, each cell in its column.
    func rows(_ container: OfficeContainer, _ name: String, _ bytes: [UInt8], strings: [String]) throws(LoadIssue) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var column = 0
        var type = "n"
        var value = ""
        var inValue = false
        try container.xml(name, bytes) { event throws(LoadIssue) in
            switch event {
            case .start("row", _, let empty):
                row = []
                if empty { rows.append([]) }
            case .end("row"): rows.append(row)
            case .start("c", let a, let empty):
                column = a["r"].flatMap(Self.column) ?? row.count
                type = a["t"] ?? "n"
                value = ""
                if empty { column = row.count }
            case .end("c"):
                let text: String
                switch type {
                case "s": text = Int(value).flatMap { $0 >= 0 && $0 < strings.count ? strings[$0] : nil } ?? ""
                case "b": text = value == "1" ? "TRUE" : value == "0" ? "FALSE" : value
                default: text = value
                }
                // Excel has 16,384 columns: a cell claiming to be further out is not padded to.
                guard row.count < Self.maxColumns else { break }
                let at = min(max(column, row.count), Self.maxColumns - 1)
                if at > row.count { row += Array(repeating: "", count: at - row.count) }
                row.append(text)
            case .start("v", _, let empty), .start("t", _, let empty): inValue = !empty
            case .end("v"), .end("t"): inValue = false
            case .text(let s): if inValue { value += s }
            default: break
            }
        }
        // Trailing empty columns carry nothing.
        return rows.map { r in Array(r[..<(r.lastIndex { !$0.isEmpty }.map { $0 + 1 } ?? 0)]) }
    }

    /// Excel's column count.
    static let maxColumns = 16_384

    /// The column index (from 0) of a cell reference: `C12` → 2.
    static func column(_ reference: String) -> Int? {
        var n = 0
        var letters = 0
        for c in reference.unicodeScalars {
            guard c.value >= 65 && c.value <= 90 else { break }
            n = n * 26 + Int(c.value - 64)
            letters += 1
            if letters > 3 { return nil }
        }
        return letters == 0 ? nil : n - 1
    }
}
