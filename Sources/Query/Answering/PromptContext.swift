import Foundation

/// How much context a prompt may carry.
public enum ContextBudget: Sendable {
    /// At most this many characters (grapheme clusters) of numbered context.
    case characters(Int)
    /// At most this many tokens as `count` measures them (e.g. a model's tokenizer).
    case tokens(Int, count: @Sendable (String) -> Int)

    func cost(_ text: String) -> Int {
        switch self {
        case .characters: return Self.characters(text)
        case .tokens(_, let count): return count(text)
        }
    }

    /// `text.count` (grapheme clusters), without walking the clusters when the text is
    /// ASCII: each byte is one character then, but for "\r\n", which is one.
    static func characters(_ text: String) -> Int {
        var crlf = 0
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte >= 0x80 { return text.count }
            if byte == 0x0A && previous == 0x0D { crlf += 1 }
            previous = byte
        }
        return text.utf8.count - crlf
    }

    var limit: Int {
        switch self {
        case .characters(let n), .tokens(let n, _): return n
        }
    }
}

/// A numbered source of an answer's context: `[number]` in the prompt and the answer.
public struct Citation: Sendable, Hashable {
    /// The number shown in the context, from 1.
    public var number: Int
    /// The chunk's record id.
    public var id: String
    /// Its document.
    public var document: String
    /// Its source (path or URL).
    public var source: String
    /// Where in the source (page, slide, sheet or chapter; heading path; byte range), if
    /// known.
    public var location: String?
    /// The retrieval score.
    public var score: Float
    /// The text given to the model (possibly cut to the budget).
    public var text: String
    /// The chunk's metadata.
    public var metadata: [String: MetadataValue]

    /// Its page, slide, sheet or chapter (`p. 12`), when its format has them.
    public var position: String? { ChunkSchema.position(metadata) }

    /// How it is cited: `report.pdf p. 12`, `guide.md — Setup › Linux`, or the source alone.
    public var reference: String {
        guard let location else { return source }
        return position != nil ? "\(source) \(location)" : "\(source) — \(location)"
    }

    /// Creates a citation.
    public init(
        number: Int, id: String, document: String, source: String, location: String? = nil, score: Float, text: String,
        metadata: [String: MetadataValue] = [:]
    ) {
        self.number = number
        self.id = id
        self.document = document
        self.source = source
        self.location = location
        self.score = score
        self.text = text
        self.metadata = metadata
    }
}

/// The numbered context of a prompt, within a budget, and the way back from an answer's
/// `[n]` markers to the sources.
public struct PromptContext: Sendable {
    /// The context as the prompt shows it: `[1] report.pdf p. 12` (the chunk's
    /// `reference`) then the text, per chunk, in rank order.
    public let text: String
    /// The chunks included, numbered from 1.
    public let citations: [Citation]

    /// Numbers `chunks` in rank order while they fit `budget`; a chunk that does not fit
    /// is left out (a later, shorter one may still fit), except that the first is cut to
    /// the budget rather than dropped.
    public init(chunks: [RetrievedChunk], budget: ContextBudget = .characters(8000)) {
        var parts: [String] = []
        var citations: [Citation] = []
        var used = 0
        for chunk in chunks {
            let number = citations.count + 1
            let header = "[\(number)] \(chunk.reference)"
            var body = Self.trimmed(chunk.text)
            let separator = parts.isEmpty ? 0 : budget.cost("\n\n")
            var cost = separator + budget.cost(header + "\n" + body)
            if used + cost > budget.limit {
                guard citations.isEmpty else { continue }
                body = Self.cut(body, toFit: budget.limit - budget.cost(header + "\n"), budget)
                guard !body.isEmpty else { break }
                cost = budget.cost(header + "\n" + body)
            }
            used += cost
            parts.append(header + "\n" + body)
            citations.append(
                Citation(
                    number: number, id: chunk.id, document: chunk.document, source: chunk.source, location: chunk.location,
                    score: chunk.score, text: body, metadata: chunk.metadata))
        }
        text = parts.joined(separator: "\n\n")
        self.citations = citations
    }

    /// `text` without white space and newlines at either end (as Foundation trims them),
    /// returned as it is when both ends are something else: no Foundation string is made.
    static func trimmed(_ text: String) -> String {
        let space = CharacterSet.whitespacesAndNewlines
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
            !space.contains(first) && !space.contains(last)
        else { return text.trimmingCharacters(in: space) }
        return text
    }

    /// The longest prefix of `text` (whole characters) costing at most `limit`.
    static func cut(_ text: String, toFit limit: Int, _ budget: ContextBudget) -> String {
        guard limit > 0 else { return "" }
        var low = 0
        var high = text.count
        while low < high {
            let mid = (low + high + 1) / 2
            if budget.cost(String(text.prefix(mid))) <= limit { low = mid } else { high = mid - 1 }
        }
        return String(text.prefix(low))
    }

    /// The numbers cited in `answer` as `[n]`, `[n, m]` or `[n][m]`, in order of first
    /// appearance, that name a context source.
    public func citedNumbers(in answer: String) -> [Int] {
        Self.citedNumbers(in: answer, count: citations.count)
    }

    /// The numbers from 1 to `count` cited in `answer`, in order of first appearance.
    static func citedNumbers(in answer: String, count: Int) -> [Int] {
        var out: [Int] = []
        var i = answer.unicodeScalars.startIndex
        let scalars = answer.unicodeScalars
        while let open = scalars[i...].firstIndex(of: "[") {
            guard let close = scalars[open...].firstIndex(of: "]") else { break }
            let inside = String(scalars[scalars.index(after: open)..<close])
            let numbers = inside.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if !numbers.isEmpty, numbers.allSatisfy({ Int($0) != nil }) {
                for n in numbers.compactMap({ Int($0) }) where n >= 1 && n <= count && !out.contains(n) { out.append(n) }
            }
            i = scalars.index(after: open)
        }
        return out
    }

    /// The sources `answer` cites, in order of first citation.
    public func cited(in answer: String) -> [Citation] {
        citedNumbers(in: answer).map { citations[$0 - 1] }
    }
}

/// The system and user messages of a question; `{context}` and `{question}` in either
/// are replaced.
public struct PromptTemplate: Sendable, Hashable {
    /// The system message.
    public var system: String
    /// The user message.
    public var user: String

    /// Creates a template.
    public init(system: String, user: String) {
        self.system = system
        self.user = user
    }

    /// Answer only from the context, cite with `[n]`, say so when the context lacks the
    /// answer.
    public static let standard = PromptTemplate(
        system: """
            You answer questions using only the numbered context passages you are given. \
            Cite the passages that support each statement with their numbers in square brackets, like [1] or [2][3]. \
            If the context does not contain the answer, say that you do not know; do not use outside knowledge.
            """,
        user: """
            Context:
            {context}

            Question: {question}
            """)

    /// The messages for `question` with `context`.
    public func messages(question: String, context: PromptContext) -> [ChatMessage] {
        func fill(_ s: String) -> String {
            // One pass, so a question containing "{context}" is not expanded.
            var out = ""
            var rest = Substring(s)
            while let r = rest.range(of: "{") {
                out += rest[..<r.lowerBound]
                let after = rest[r.lowerBound...]
                if after.hasPrefix("{context}") {
                    out += context.text
                    rest = after.dropFirst(9)
                } else if after.hasPrefix("{question}") {
                    out += question
                    rest = after.dropFirst(10)
                } else {
                    out += "{"
                    rest = after.dropFirst()
                }
            }
            return out + rest
        }
        return [.system(fill(system)), .user(fill(user))]
    }
}
