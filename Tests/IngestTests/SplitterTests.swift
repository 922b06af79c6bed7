import Foundation
import Ingest
import TestSupport
import Testing

@Suite struct SplitterTests {
    /// Byte offsets at which the source may be cut: its grapheme cluster boundaries.
    static func boundaries(_ text: String) -> Set<Int> {
        var set: Set<Int> = [0]
        var offset = 0
        for c in text {
            offset += c.utf8.count
            set.insert(offset)
        }
        return set
    }

    func check(_ splitter: some TextSplitter, _ text: String, _ label: String) {
        let chunks = splitter.split(text)
        let bytes = Array(text.utf8)
        let cuts = Self.boundaries(text)
        if text.isEmpty {
            #expect(chunks.isEmpty)
            return
        }
        #expect(chunks.first?.range.lowerBound == 0, "\(label)")
        #expect(chunks.last?.range.upperBound == bytes.count, "\(label)")
        for (i, c) in chunks.enumerated() {
            // The text is exactly the source slice; the cut points are grapheme boundaries.
            #expect(Array(c.text.utf8) == Array(bytes[c.range]), "\(label) chunk \(i)")
            #expect(cuts.contains(c.range.lowerBound) && cuts.contains(c.range.upperBound), "\(label) chunk \(i) cuts a cluster")
            // No chunk exceeds the size (generated clusters are at most 8 scalars).
            #expect(c.text.unicodeScalars.count <= splitter.chunkSize, "\(label) chunk \(i) has \(c.text.unicodeScalars.count)")
            if i > 0 {
                let previous = chunks[i - 1]
                // Chunks advance, cover the text without gaps, and overlap by at most the overlap.
                #expect(c.range.lowerBound > previous.range.lowerBound, "\(label)")
                #expect(c.range.lowerBound <= previous.range.upperBound, "\(label) gap before chunk \(i)")
                let shared = max(0, previous.range.upperBound - c.range.lowerBound)
                let sharedUnits = String(decoding: bytes[c.range.lowerBound..<(c.range.lowerBound + shared)], as: UTF8.self)
                    .unicodeScalars.count
                #expect(sharedUnits <= splitter.chunkOverlap, "\(label) overlap \(sharedUnits)")
            }
        }
        // Without overlap, the chunks concatenate to the source exactly (not 16× of it).
        if splitter.chunkOverlap == 0 {
            #expect(chunks.map(\.text).joined() == text, "\(label)")
        }
    }

    @Test(arguments: [(8, 0), (8, 3), (20, 5), (64, 16), (300, 0), (1000, 200)])
    func propertiesHoldOnGeneratedText(size: Int, overlap: Int) {
        var rng = SeededGenerator(seed: UInt64(size * 31 + overlap))
        for round in 0..<40 {
            let text = GeneratedText.text(&rng, length: Int(rng.next() % 300))
            check(RecursiveSplitter(chunkSize: size, chunkOverlap: overlap), text, "recursive \(size)/\(overlap) #\(round)")
            check(CharacterSplitter(chunkSize: size, chunkOverlap: overlap), text, "character \(size)/\(overlap) #\(round)")
        }
    }

    @Test func recursivePrefersParagraphsThenLinesThenSentences() {
        let text = "First paragraph, short.\n\nSecond one. It has two sentences.\nAnd a line."
        let chunks = RecursiveSplitter(chunkSize: 40, chunkOverlap: 0).split(text)
        #expect(chunks.map(\.text) == ["First paragraph, short.\n\n", "Second one. It has two sentences.\n", "And a line."])
        // Sentences first; the sentence too long for 20 falls back to words.
        let small = RecursiveSplitter(chunkSize: 20, chunkOverlap: 0).split("One. Two three four. Five six seven eight nine.")
        #expect(small.map(\.text) == ["One. ", "Two three four. ", "Five six seven ", "eight nine."])
    }

    @Test func overlapRepeatsTrailingWords() {
        let text = "alpha beta gamma delta epsilon zeta eta theta"
        let chunks = RecursiveSplitter(chunkSize: 20, chunkOverlap: 8).split(text)
        #expect(chunks.count > 1)
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            #expect(b.range.lowerBound < a.range.upperBound)  // they do share words
        }
    }
}
