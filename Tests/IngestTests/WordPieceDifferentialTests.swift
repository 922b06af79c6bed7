import Foundation
import Testing

@testable import Ingest

/// `WordPieceTokenizer` against Hugging Face `tokenizers` (`BertWordPieceTokenizer` on the
/// model's vocab.txt, lowercase) over the sentences of `Fixtures/wordpiece/hf_ids.jsonl`:
/// many scripts, emoji, combining marks, control and format characters, punctuation,
/// numbers, long words. `tools/tokenizer/make_fixture.py` writes the fixture; CI only
/// reads it.
@Suite(
    .enabled(
        if: LocalModel.isInstalled(),
        "all-MiniLM-L6-v2 is not installed in \(LocalModel.defaultDirectory): run scripts/setup.sh"))
struct WordPieceDifferentialTests {
    struct Row {
        let index: Int
        let kind: String
        let text: String
        let ids: [Int32]
    }

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wordpiece/hf_ids.jsonl").path

    /// The fixture's header and rows.
    static func load() throws -> (header: [String: Any], rows: [Row]) {
        let data = try #require(FileManager.default.contents(atPath: fixture), "cannot read \(fixture)")
        var lines = data.split(separator: UInt8(ascii: "\n"))
        let header = try #require(try JSONSerialization.jsonObject(with: Data(lines.removeFirst())) as? [String: Any])
        let rows = try lines.enumerated().map { n, line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], "line \(n + 2)")
            return Row(
                index: try #require(object["i"] as? Int), kind: try #require(object["k"] as? String),
                text: try #require(object["s"] as? String), ids: try #require(object["ids"] as? [Int]).map(Int32.init))
        }
        return (header, rows)
    }

    /// A sentence, its scalars and the two token lists, for a failure message.
    static func describe(_ row: Row, _ actual: [Int32], _ tokenizer: WordPieceTokenizer) -> String {
        let first = zip(row.ids, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(row.ids.count, actual.count)
        func pieces(_ ids: [Int32]) -> String {
            ids[max(0, first - 3)..<min(ids.count, first + 6)].map { tokenizer.piece($0) ?? "?\($0)" }.joined(separator: " ")
        }
        // Invisible characters as escapes; the rest as written.
        let text = row.text.unicodeScalars.prefix(100).map { v in
            switch v.properties.generalCategory {
            case .control, .format, .privateUse, .unassigned, .spaceSeparator, .lineSeparator, .paragraphSeparator:
                return v == " " ? " " : "\\u{\(String(v.value, radix: 16))}"
            default:
                return String(v)
            }
        }.joined()
        return """
            sentence \(row.index) (\(row.kind)), first difference at token \(first): \(text)
              expected (\(row.ids.count)): … \(pieces(row.ids))
              actual   (\(actual.count)): … \(pieces(actual))
            """
    }

    @Test func idsMatchHuggingFaceTokenizers() throws {
        let (header, rows) = try Self.load()
        #expect(rows.count == header["sentences"] as? Int)
        #expect(rows.count >= 3000 && Set(rows.map(\.kind)).count >= 15)
        let vocabulary = LocalModel.defaultDirectory + "/vocab.txt"
        let untruncated = try WordPieceTokenizer(vocabularyPath: vocabulary, maxLength: 1 << 20)
        let model = try WordPieceTokenizer(vocabularyPath: vocabulary)
        var mismatches: [String] = []
        for row in rows {
            let ids = untruncated.encode(row.text)
            if ids != row.ids {
                mismatches.append(Self.describe(row, ids, untruncated))
                continue
            }
            // The model's window: the first 254 pieces between [CLS] and [SEP].
            let window = row.ids.count <= model.maxLength ? row.ids : row.ids.prefix(model.maxLength - 1) + [model.separatorID]
            #expect(model.encode(row.text) == window, "sentence \(row.index) truncated")
            #expect(model.count(row.text) == row.ids.count - 2, "sentence \(row.index) count")
        }
        let kinds = Dictionary(grouping: mismatches, by: { $0.split(separator: "(")[1].split(separator: ")")[0] }).mapValues(\.count)
        guard !mismatches.isEmpty else { return }
        Issue.record(
            """
            \(mismatches.count) of \(rows.count) sentences differ from tokenizers \(header["tokenizers"] ?? "?") \
            (by kind: \(kinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))); the first:
            \(mismatches.prefix(12).joined(separator: "\n"))
            """)
    }
}
