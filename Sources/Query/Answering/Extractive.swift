import Foundation

/// An answer without a language model: the sentences of the context that best match the
/// question, each followed by its source number.
enum Extractive {
    struct Candidate {
        let text: String
        let source: Int
        let rank: Int
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
                for sentence in splitter.sentences(in: paragraph) {
                    let s = sentence.trimmingCharacters(in: .whitespaces)
                    guard s.split(separator: " ").count >= 4, !s.hasSuffix("?"), seen.insert(s.lowercased()).inserted else {
                        continue
                    }
                    out.append(Candidate(text: s, source: citation.number, rank: out.count))
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
        let vectors = try await embedder.embed([question] + candidates.map(\.text))
        return compose(candidates, vectors, count)
    }

    /// Synchronous form of `answer`.
    static func answer(question: String, context: PromptContext, embedder: any Embedder, count: Int) throws -> String {
        let candidates = candidates(context)
        guard !candidates.isEmpty else { return "" }
        let vectors = try embedder.embed([question] + candidates.map(\.text))
        return compose(candidates, vectors, count)
    }

    static func compose(_ candidates: [Candidate], _ vectors: [[Float]], _ count: Int) -> String {
        let q = Retriever.unit(vectors[0])
        let scored = zip(candidates, vectors.dropFirst()).map { c, v in (c, Retriever.dot(Retriever.unit(v), q)) }
        let best = scored.sorted { a, b in a.1 != b.1 ? a.1 > b.1 : a.0.rank < b.0.rank }.prefix(max(1, count))
        return best.map { c, _ in "\(c.text) [\(c.source)]" }.joined(separator: " ")
    }
}
