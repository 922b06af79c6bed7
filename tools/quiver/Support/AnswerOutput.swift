import Foundation
import Query

/// Printing answers, as text or JSON.
enum AnswerOutput {
    static func json(_ answer: Answer) -> [String: Any] {
        [
            "question": answer.question, "answer": answer.text, "extractive": answer.isExtractive,
            "citations": answer.citations.map(\.number),
            "hits": answer.sources.map { c in
                [
                    "number": c.number, "id": c.id, "score": Double(c.score), "source": c.source, "document": c.document,
                    "location": c.location ?? NSNull(), "position": c.position ?? NSNull(), "reference": c.reference,
                    "text": c.text,
                    "metadata": c.metadata.mapValues { jsonValue($0) },
                ] as [String: Any]
            },
        ]
    }

    static func jsonValue(_ v: MetadataValue) -> Any {
        switch v {
        case .string(let s): return s
        case .int(let i): return i
        case .double(let d): return d
        case .bool(let b): return b
        case .strings(let l): return l
        }
    }

    static func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The numbered sources, one line each, safe for a terminal (`TerminalText.line`).
    static func sources(_ sources: [Citation], cited: [Citation]) -> String {
        let citedNumbers = Set(cited.map(\.number))
        return sources.map { c in
            let mark = citedNumbers.contains(c.number) ? "*" : " "
            return TerminalText.line(String(format: "%@[%d] %@  (%.3f)", mark, c.number, c.reference, c.score))
        }.joined(separator: "\n")
    }

    static let extractiveNote = "(extractive answer: the best-matching sentences; --llm openai|ollama writes one)"
}
