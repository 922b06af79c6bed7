import Foundation

/// An answer without a language model: the sentences of the context that best match the
/// question, each followed by its source number.
enum Extractive {
    struct Candidate {
        let text: String
        let source: Int
        let rank: Int
        /// The question the context asked just before this sentence (FAQ style), which
        /// this sentence presumably answers.
        let askedBefore: String?
    }

    /// Sentences of the context worth quoting: hard-wrapped lines joined back into their
    /// paragraph; headings, table rows, code fences and questions left out; at least four
    /// words; each once.
    static func candidates(_ context: PromptContext) -> [Candidate] {
        let splitter = SentenceSplitter()
        var seen = Set<String>()
        var out: [Candidate] = []
        for citation in context.citations {
            var paragraphs: [String] = []
            var current: [String] = []
            var inCode = false
            for line in citation.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                var l = line.trimmingCharacters(in: .whitespaces)
                if l.hasPrefix("```") { inCode.toggle() }
                let structural = inCode || l.hasPrefix("```") || l.hasPrefix("#") || l.hasPrefix("|")
                let bullet = l.first.map { "-*>•".contains($0) } ?? false
                if l.isEmpty || structural || bullet {
                    if !current.isEmpty { paragraphs.append(current.joined(separator: " ")) }
                    current = []
                    if structural { continue }
                }
                while let f = l.first, "-*>•".contains(f) { l = String(l.dropFirst()).trimmingCharacters(in: .whitespaces) }
                if !l.isEmpty { current.append(l) }
            }
            if !current.isEmpty { paragraphs.append(current.joined(separator: " ")) }
            for paragraph in paragraphs {
                var asked: String?
                for sentence in splitter.sentences(in: paragraph) {
                    let s = sentence.trimmingCharacters(in: .whitespaces)
                    if s.hasSuffix("?") {
                        asked = s
                        continue
                    }
                    defer { asked = nil }
                    guard s.split(separator: " ").count >= 4, seen.insert(s.lowercased()).inserted else { continue }
                    out.append(Candidate(text: s, source: citation.number, rank: out.count, askedBefore: asked))
                }
            }
        }
        return out
    }

    /// The best `count` sentences for `question`, as text with `[n]` markers, scored by
    /// the cosine of their embeddings to the question's.
    static func answer(question: String, context: PromptContext, embedder: any Embedder, count: Int) async throws -> String {
        let candidates = candidates(context)
        guard !candidates.isEmpty else { return "" }
        let inputs = [question] + texts(candidates)
        let vectors = try Retriever.checked(await embedder.embed(inputs), count: inputs.count, embedder.identifier)
        return compose(candidates, vectors, count)
    }

    /// Synchronous form of `answer`.
    static func answer(question: String, context: PromptContext, embedder: any Embedder, count: Int) throws -> String {
        let candidates = candidates(context)
        guard !candidates.isEmpty else { return "" }
        let inputs = [question] + texts(candidates)
        let vectors = try Retriever.checked(embedder.embed(inputs), count: inputs.count, embedder.identifier)
        return compose(candidates, vectors, count)
    }

    /// The texts to embed: each sentence, then the questions asked before some of them.
    static func texts(_ candidates: [Candidate]) -> [String] {
        candidates.map(\.text) + candidates.compactMap(\.askedBefore)
    }

    /// A sentence scoring below this fraction of the best one is left out.
    static let relativeFloor: Float = 0.7

    /// Ranks by cosine to the question; a sentence right after a question in the context
    /// also scores as that question (slightly discounted), so FAQ answers surface.
    static func compose(_ candidates: [Candidate], _ vectors: [[Float]], _ count: Int) -> String {
        let q = Retriever.unit(vectors[0])
        var asked = candidates.count + 1
        let scored = candidates.enumerated().map { i, c -> (Candidate, Float) in
            var score = Retriever.dot(Retriever.unit(vectors[i + 1]), q)
            if c.askedBefore != nil {
                score = max(score, 0.95 * Retriever.dot(Retriever.unit(vectors[asked]), q))
                asked += 1
            }
            return (c, score)
        }
        let ranked = scored.sorted { a, b in a.1 != b.1 ? a.1 > b.1 : a.0.rank < b.0.rank }
        // Sentences far below the best one are more likely noise than answer.
        let floor = (ranked.first?.1 ?? 0) * relativeFloor
        let best = ranked.prefix(max(1, count)).enumerated().filter { i, entry in i == 0 || entry.1 >= floor }.map(\.element)
        return best.map { c, _ in "\(c.text) [\(c.source)]" }.joined(separator: " ")
    }
}
