/// Splits text into tokens, as byte ranges of the source. Quiver's default counts words;
/// the local model's `WordPieceTokenizer` counts in model tokens.
public protocol Tokenizer: Sendable {
    /// The tokens of `text` as byte ranges of its UTF-8, in order, never inside a grapheme
    /// cluster.
    func tokenRanges(_ text: String) -> [Range<Int>]
    /// Most tokens a chunk may hold for the model that reads it (its window less special
    /// tokens), or nil for no limit. `TokenSplitter` clamps its chunk size to it.
    var maxTokensPerChunk: Int? { get }
    /// The tokens' byte ranges, and in `continuations` (one flag per token, or empty when
    /// none does) whether a token continues the word before it — a word piece such as
    /// `##ing`. A chunk that starts or ends inside a word may tokenize differently when
    /// the model reads it alone, so `TokenSplitter` cuts between words where it can.
    func tokenRanges(_ text: String, continuations: inout [Bool]) -> [Range<Int>]
}

extension Tokenizer {
    /// No limit.
    public var maxTokensPerChunk: Int? { nil }

    /// `tokenRanges(text)`; no token continues a word.
    public func tokenRanges(_ text: String, continuations: inout [Bool]) -> [Range<Int>] {
        continuations = []
        return tokenRanges(text)
    }
}

/// A word-level tokenizer: runs of letters, digits and marks are one token; each CJK
/// ideograph, each punctuation or symbol cluster (emoji included) is one token;
/// whitespace separates.
public struct WordTokenizer: Tokenizer {
    /// Creates the tokenizer.
    public init() {}

    /// The tokens' byte ranges.
    public func tokenRanges(_ text: String) -> [Range<Int>] {
        let s = SeparatorSplitting(text, chunkSize: 1, chunkOverlap: 0)
        let scalars = ScalarIndex(s.bytes)
        var out: [Range<Int>] = []
        var start: Int?
        var inWord = false
        for k in 0..<scalars.count {
            let c = scalars[k]
            let offset = scalars.offset(k)
            if c.value < 0x80 {
                // ASCII without property lookups: letters and digits make words, whitespace
                // separates, anything else is a token of its own.
                let v = c.value
                let wordLike = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
                let space = v == 0x20 || (v >= 0x09 && v <= 0x0D)
                let next = k + 1 < scalars.count ? scalars[k + 1].value : 0
                if next < 0x300 || space {  // no mark can follow to join this scalar
                    if let st = start, !(inWord && wordLike) {
                        out.append(st..<offset)
                        start = nil
                    }
                    if space { continue }
                    if start == nil {
                        start = offset
                        inWord = wordLike
                    }
                    continue
                }
            }
            let p = c.properties
            if !s.isGraphemeBoundary(offset) {
                // A mark, modifier or ZWJ sequence stays with its token; after whitespace it
                // makes that whitespace part of a cluster, which then starts the token.
                if start == nil, k > 0 {
                    start = scalars.offset(k - 1)
                    inWord = false
                }
                continue
            }
            let wordLike = (p.isAlphabetic || p.numericType != nil) && !p.isIdeographic
            if let st = start, !(inWord && wordLike) {
                out.append(st..<offset)
                start = nil
            }
            if p.isWhitespace { continue }
            if start == nil {
                start = offset
                inWord = wordLike
            }
        }
        if let st = start { out.append(st..<s.bytes.count) }
        return out
    }
}

/// Chunks of exactly `chunkSize` tokens (the last may be shorter), consecutive chunks
/// sharing exactly `chunkOverlap` tokens. A chunk spans from its first token's start to
/// its last token's end in the source.
public struct TokenSplitter: TextSplitter {
    /// Tokens in a chunk.
    public let chunkSize: Int
    /// Tokens shared by consecutive chunks.
    public let chunkOverlap: Int
    /// The tokenizer that counts.
    public let tokenizer: any Tokenizer
    /// The most UTF-8 bytes a chunk holds whatever its token count: one "word" of 20 MB
    /// (no space in it) is one token, and stayed one 20 MB chunk. Longer chunks are cut
    /// at character boundaries. Default: 32 bytes per token of `chunkSize`, at least 4 KiB.
    public let maxChunkBytes: Int

    /// Creates a splitter. The chunk size is clamped to the tokenizer's
    /// `maxTokensPerChunk` (254 for the local model), the overlap below the chunk size.
    public init(
        chunkSize: Int = 256, chunkOverlap: Int = 32, tokenizer: any Tokenizer = WordTokenizer(), maxChunkBytes: Int? = nil
    ) {
        let size = tokenizer.maxTokensPerChunk.map { min($0, chunkSize) } ?? chunkSize
        (self.chunkSize, self.chunkOverlap) = clampedLimits(size: size, overlap: chunkOverlap)
        self.tokenizer = tokenizer
        self.maxChunkBytes = max(16, maxChunkBytes ?? max(4096, self.chunkSize * 32))
    }

    /// The chunks of `text`. With a tokenizer that marks word pieces, chunks start and end
    /// between words (a chunk of one overlong word excepted), so each holds at most
    /// `chunkSize` tokens when re-tokenized alone.
    public func split(_ text: String) -> [TextChunk] {
        var continues: [Bool] = []
        let tokens = tokenizer.tokenRanges(text, continuations: &continues)
        guard !tokens.isEmpty else { return [] }
        /// True when a chunk may not begin at token `k` (it continues a word).
        func inWord(_ k: Int) -> Bool { k < continues.count && continues[k] }
        let bytes = Array(text.utf8)
        var chunks: [TextChunk] = []
        var first = 0
        while true {
            var end = min(first + chunkSize, tokens.count)
            if end < tokens.count && inWord(end) {
                var e = end
                while e > first + 1 && inWord(e) { e -= 1 }
                if !inWord(e) { end = e }
            }
            let r = tokens[first].lowerBound..<tokens[end - 1].upperBound
            var start = r.lowerBound
            while start < r.upperBound {
                // At most maxChunkBytes, ending on a character boundary.
                var stop = min(r.upperBound, start + maxChunkBytes)
                while stop < r.upperBound && stop > start + 1 && bytes[stop] & 0xC0 == 0x80 { stop -= 1 }
                chunks.append(TextChunk(text: String(decoding: bytes[start..<stop], as: UTF8.self), range: start..<stop))
                start = stop
            }
            if end == tokens.count { break }
            var next = max(first + 1, end - chunkOverlap)
            while next > first + 1 && inWord(next) { next -= 1 }
            first = inWord(next) ? end : next
        }
        return chunks
    }
}

extension Array where Element == String {
    /// Splits every text with `splitter`, on all cores; results in input order.
    public func split(with splitter: some TextSplitter) -> [[TextChunk]] {
        let results = Locked([[TextChunk]](repeating: [], count: count))
        let texts = self
        DispatchQueue.concurrentPerform(iterations: Swift.max(1, Swift.min(count, ProcessInfoCores.count * 4))) { part in
            let parts = Swift.max(1, Swift.min(texts.count, ProcessInfoCores.count * 4))
            var i = texts.count * part / parts
            let end = texts.count * (part + 1) / parts
            while i < end {
                let chunks = splitter.split(texts[i])
                results.withLock { $0[i] = chunks }
                i += 1
            }
        }
        return results.withLock { $0 }
    }
}

import Dispatch
import VectorStore
