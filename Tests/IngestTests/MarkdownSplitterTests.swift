import Foundation
import Ingest
import TestSupport
import Testing

@Suite struct MarkdownSplitterTests {
    static let document = """
        Intro line before any heading.

        # Guide
        Quiver stores vectors.

        ## Install
        Run the setup script. It installs LMDB and OpenBLAS.

        ```swift
        let store = try Store(path: "./.quiver")

        let hits = try docs.search(q, k: 5)
        ```

        | flag | meaning |
        |------|---------|
        | -k   | results |

        ## Use
        Search with filters.
        # Appendix
        The end.
        """

    @Test func chunksFollowHeadingsAndKeepCodeAndTablesWhole() throws {
        let chunks = MarkdownSplitter(chunkSize: 120, chunkOverlap: 0).split(Self.document)
        SplitterTests().check(MarkdownSplitter(chunkSize: 120, chunkOverlap: 0), Self.document, "document")
        let paths = chunks.map { c -> [String] in
            if case .strings(let p)? = c.metadata["headings"] { return p }
            return []
        }
        #expect(paths.first == [])
        #expect(paths.contains(["Guide", "Install"]))
        #expect(paths.contains(["Guide", "Use"]))
        #expect(paths.last == ["Appendix"])
        #expect(chunks.last?.metadata["heading"] == .string("Appendix"))
        // The code block (with its blank line) and the table each sit whole in one chunk.
        let code = try #require(chunks.first { $0.text.contains("```swift") })
        #expect(code.text.contains("let hits = try docs.search(q, k: 5)\n```"))
        let table = try #require(chunks.first { $0.text.contains("| flag |") })
        #expect(table.text.contains("| -k   | results |"))
        // No chunk spans two sections.
        for c in chunks {
            let headings = c.text.split(separator: "\n").filter { $0.hasPrefix("#") }
            #expect(headings.count <= 1 && (headings.isEmpty || c.text.hasPrefix("#")), "\(c.text)")
        }
    }

    @Test(arguments: [(12, 0), (40, 10), (200, 50)])
    func propertiesHoldOnGeneratedMarkdown(size: Int, overlap: Int) {
        var rng = SeededGenerator(seed: UInt64(size))
        let lines = [
            "# Title", "## Sub part", "### Deep", "```", "code line();", "| a | b |", "", "Plain prose. More prose!", "漢字テキスト。",
            "👨‍👩‍👧 e\u{301}",
        ]
        for round in 0..<30 {
            var text = ""
            for _ in 0..<Int(rng.next() % 60) {
                text += lines[Int(rng.next() % UInt64(lines.count))] + "\n"
                if rng.next() % 3 == 0 { text += GeneratedText.text(&rng, length: 8) + "\n" }
            }
            SplitterTests().check(MarkdownSplitter(chunkSize: size, chunkOverlap: overlap), text, "markdown \(size)/\(overlap) #\(round)")
        }
    }
}
