import VectorStore

/// Splits Markdown by its structure: sections under headings, then blocks (paragraphs,
/// fenced code, tables), packed into chunks that never cross a heading. Code blocks and
/// tables stay whole when they fit; a larger one is cut at lines. Every chunk carries its
/// heading path (`headings`, outermost first) and innermost `heading`.
public struct MarkdownSplitter: TextSplitter {
    /// Most units (scalars) in a chunk.
    public let chunkSize: Int
    /// Most units shared by consecutive chunks of one section.
    public let chunkOverlap: Int

    /// Creates a splitter. The overlap is clamped below the chunk size.
    public init(chunkSize: Int = 1000, chunkOverlap: Int = 100) {
        self.chunkSize = max(1, chunkSize)
        self.chunkOverlap = max(0, min(chunkOverlap, self.chunkSize - 1))
    }

    /// The chunks of `text`.
    public func split(_ text: String) -> [TextChunk] {
        let s = SeparatorSplitting(text, chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        guard !s.bytes.isEmpty else { return [] }
        var chunks: [TextChunk] = []
        for section in sections(s.bytes) {
            let pieces = section.blocks.flatMap { block -> [Range<Int>] in
                // Prose falls back to sentences and words; code and tables to lines.
                let separators: [[UInt8]] = block.verbatim ? [[10]] : [[10], Array(". ".utf8), [32]]
                return s.pieces(block.range, separators: ArraySlice(separators))
            }
            var metadata: [String: MetadataValue] = [:]
            if let last = section.path.last {
                metadata["heading"] = .string(last)
                metadata["headings"] = .strings(section.path)
            }
            for var chunk in s.merge(pieces) {
                chunk.metadata = metadata
                chunks.append(chunk)
            }
        }
        return chunks
    }

    struct Block {
        var range: Range<Int>
        var verbatim: Bool
    }

    struct Section {
        var path: [String]
        var blocks: [Block]
    }

    /// Sections (each starting at a heading line, or the text's start) of blocks that tile
    /// the text: paragraphs end at blank lines, fences at their closing fence, tables at
    /// their last `|` line.
    func sections(_ bytes: [UInt8]) -> [Section] {
        var lines: [Range<Int>] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 10 {
            lines.append(start..<(i + 1))
            start = i + 1
        }
        if start < bytes.count { lines.append(start..<bytes.count) }

        func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        var sections: [Section] = [Section(path: [], blocks: [])]
        var path: [(level: Int, title: String)] = []
        var block: Block?
        var fence: String?
        func close() {
            if let b = block { sections[sections.count - 1].blocks.append(b) }
            block = nil
        }
        func add(_ line: Range<Int>, verbatim: Bool) {
            if let b = block, b.verbatim == verbatim {
                block = Block(range: b.range.lowerBound..<line.upperBound, verbatim: verbatim)
            } else {
                close()
                block = Block(range: line, verbatim: verbatim)
            }
        }
        for line in lines {
            let content = text(line).trimmingCharacters(in: .newlines)
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                add(line, verbatim: true)
                if trimmed.hasPrefix(open) {
                    fence = nil
                    close()
                }
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                close()
                fence = String(trimmed.prefix(3))
                add(line, verbatim: true)
                continue
            }
            if let level = Self.headingLevel(trimmed) {
                close()
                let title = trimmed.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                path.removeAll { $0.level >= level }
                path.append((level, title))
                sections.append(Section(path: path.map(\.title), blocks: []))
                block = Block(range: line, verbatim: false)
                continue
            }
            if trimmed.isEmpty {
                // A blank line ends the block it follows (and stays with it).
                if let b = block {
                    block = Block(range: b.range.lowerBound..<line.upperBound, verbatim: b.verbatim)
                    close()
                } else if let lastIndex = sections[sections.count - 1].blocks.indices.last {
                    let b = sections[sections.count - 1].blocks[lastIndex]
                    sections[sections.count - 1].blocks[lastIndex].range = b.range.lowerBound..<line.upperBound
                } else {
                    block = Block(range: line, verbatim: false)
                }
                continue
            }
            add(line, verbatim: trimmed.hasPrefix("|"))
        }
        close()
        return sections.filter { !$0.blocks.isEmpty }
    }

    /// 1–6 for an ATX heading line (`#` run then a space), else nil.
    static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        return rest.isEmpty || rest.first == " " ? hashes : nil
    }
}

import Foundation
