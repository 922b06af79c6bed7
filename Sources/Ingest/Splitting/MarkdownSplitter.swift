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
        (self.chunkSize, self.chunkOverlap) = clampedLimits(size: chunkSize, overlap: chunkOverlap)
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
                metadata[ChunkSchema.Key.heading] = .string(last)
                metadata[ChunkSchema.Key.headings] = .strings(section.path)
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
        var fence: [UInt8]?
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
        // Per line on bytes: Foundation's trimming made this splitter 50x slower.
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
        func starts(_ r: Range<Int>, _ p: [UInt8]) -> Bool {
            r.count >= p.count && bytes[r.lowerBound..<(r.lowerBound + p.count)].elementsEqual(p)
        }
        let backticks: [UInt8] = Array("```".utf8)
        let tildes: [UInt8] = Array("~~~".utf8)
        for line in lines {
            var lo = line.lowerBound
            var hi = line.upperBound
            while lo < hi && isSpace(bytes[lo]) { lo += 1 }
            while hi > lo && isSpace(bytes[hi - 1]) { hi -= 1 }
            let trimmed = lo..<hi
            if let open = fence {
                add(line, verbatim: true)
                if starts(trimmed, open) {
                    fence = nil
                    close()
                }
                continue
            }
            if starts(trimmed, backticks) || starts(trimmed, tildes) {
                close()
                fence = starts(trimmed, backticks) ? backticks : tildes
                add(line, verbatim: true)
                continue
            }
            var hashes = 0
            while lo + hashes < hi && bytes[lo + hashes] == 35 { hashes += 1 }
            if (1...6).contains(hashes) && (lo + hashes == hi || bytes[lo + hashes] == 32) {
                close()
                let title = text(lo + hashes..<hi).trimmingCharacters(in: .whitespaces)
                path.removeAll { $0.level >= hashes }
                path.append((hashes, title))
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
            add(line, verbatim: bytes[trimmed.lowerBound] == 124)  // "|": a table row
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
