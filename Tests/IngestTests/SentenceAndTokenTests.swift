import Foundation
import TestSupport
import Testing

@testable import Ingest

@Suite struct SentenceAndTokenTests {
    func sentences(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return SentenceSplitter().sentences(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test func sentenceBoundaries() {
        #expect(
            sentences("Dr. Smith arrived at 3.14 p.m. on Monday! Did J. R. Tolkien write it? Yes, e.g. the Hobbit. Done")
                == ["Dr. Smith arrived at 3.14 p.m. on Monday! ", "Did J. R. Tolkien write it? ", "Yes, e.g. the Hobbit. ", "Done"])
        #expect(sentences("He said \"Stop.\" Then he left.") == ["He said \"Stop.\" ", "Then he left."])
        #expect(sentences("今日は晴れ。明日は雨！本当？") == ["今日は晴れ。", "明日は雨！", "本当？"])
        #expect(sentences("Wait… what?\n\nNew paragraph.") == ["Wait… ", "what?\n\n", "New paragraph."])
        #expect(sentences("") == [])
        #expect(sentences("no end") == ["no end"])
    }

    @Test func sentenceSplitterPacksWholeSentences() {
        let text = "One sentence here. Another one follows. A third, longer sentence closes it."
        let chunks = SentenceSplitter(chunkSize: 45, chunkOverlap: 0).split(text)
        #expect(chunks.map(\.text) == ["One sentence here. Another one follows. ", "A third, longer sentence closes it."])
        // With overlap, the previous chunk's last sentence repeats when it fits in the overlap
        // and leaves room for the next sentence.
        let overlapping = SentenceSplitter(chunkSize: 45, chunkOverlap: 25).split("Short one. Tiny two. Another sentence that is long.")
        #expect(overlapping.map(\.text) == ["Short one. Tiny two. ", "Tiny two. Another sentence that is long."])
        #expect(chunks.allSatisfy { $0.text.unicodeScalars.count <= 45 })
    }

    /// One 20 MB "word" stayed one 20 MB chunk under the token splitter. Chunks are now
    /// capped in bytes, cut on character boundaries, and together still cover the text.
    @Test func overlongWordIsCutIntoBoundedChunks() {
        let word = String(repeating: "é", count: 100_000) + "x"  // 200,001 bytes, no space
        let text = "before " + word + " after"
        let splitter = TokenSplitter(chunkSize: 64, chunkOverlap: 8)
        #expect(splitter.maxChunkBytes == 4096)
        let chunks = splitter.split(text)
        #expect(chunks.allSatisfy { $0.text.utf8.count <= 4096 && !$0.text.isEmpty })
        #expect(chunks.count >= 200_001 / 4096)
        // Consecutive, and each range is its text.
        let bytes = Array(text.utf8)
        for c in chunks { #expect(Array(bytes[c.range]) == Array(c.text.utf8)) }
        #expect(chunks.map(\.text).joined() == text)
    }

    @Test func wordTokens() {
        let text = "Héllo, wörld! 漢字 e\u{301}t 👨‍👩‍👧 3.14 don't"
        let bytes = Array(text.utf8)
        let tokens = WordTokenizer().tokenRanges(text).map { String(decoding: bytes[$0], as: UTF8.self) }
        #expect(tokens == ["Héllo", ",", "wörld", "!", "漢", "字", "e\u{301}t", "👨‍👩‍👧", "3", ".", "14", "don", "'", "t"])
    }

    @Test(arguments: [(5, 0), (5, 2), (16, 4), (256, 32)])
    func tokenChunksHoldExactlySizeAndOverlap(size: Int, overlap: Int) {
        var rng = SeededGenerator(seed: UInt64(size + overlap))
        for _ in 0..<30 {
            let text = GeneratedText.text(&rng, length: Int(rng.next() % 400))
            let tokens = WordTokenizer().tokenRanges(text)
            let chunks = TokenSplitter(chunkSize: size, chunkOverlap: overlap).split(text)
            let bytes = Array(text.utf8)
            let cuts = SplitterTests.boundaries(text)
            if tokens.isEmpty {
                #expect(chunks.isEmpty)
                continue
            }
            let step = size - overlap
            for (i, c) in chunks.enumerated() {
                #expect(Array(c.text.utf8) == Array(bytes[c.range]))
                #expect(cuts.contains(c.range.lowerBound) && cuts.contains(c.range.upperBound))
                // Chunk i starts at token i·step and holds exactly `size` tokens (the last fewer).
                let first = i * step
                let last = min(first + size, tokens.count) - 1
                #expect(c.range == tokens[first].lowerBound..<tokens[last].upperBound)
                #expect(WordTokenizer().tokenRanges(c.text).count == last - first + 1)
            }
            #expect(chunks.last?.range.upperBound == tokens.last?.upperBound)
        }
    }

    @Test func splittingManyTextsUsesAllCoresAndKeepsOrder() {
        var rng = SeededGenerator(seed: 99)
        let texts = (0..<200).map { _ in GeneratedText.text(&rng, length: 100) }
        let splitter = RecursiveSplitter(chunkSize: 50, chunkOverlap: 10)
        #expect(texts.split(with: splitter) == texts.map { splitter.split($0) })
        #expect([String]().split(with: splitter).isEmpty)
    }
}
