import Foundation
import Query

/// Printing answers, as text or JSON.
enum AnswerOutput {
    static func json(_ answer: Answer) -> [String: Any] {
        [
            "question": answer.question, "answer": answer.text, "extractive": answer.isExtractive,
            "citations": answer.citations.map(\.number),
            "hits": answer.sources.map(hit),
        ]
    }

    /// A tool-calling answer: the fields of `json(_: Answer)`, plus its steps (the tool
    /// calls with their arguments and errors) and token usage.
    static func json(_ answer: ToolAnswer) -> [String: Any] {
        [
            "question": answer.question, "answer": answer.text, "extractive": false, "citations": answer.citations.map(\.number),
            "hits": answer.sources.map(hit),
            "steps": answer.steps.map { step in
                [
                    "text": step.text,
                    "calls": step.calls.map { r in
                        ["tool": r.call.name, "arguments": r.call.arguments, "error": r.error?.message ?? NSNull()] as [String: Any]
                    },
                ] as [String: Any]
            },
            "usage": ["prompt_tokens": answer.usage.promptTokens, "completion_tokens": answer.usage.completionTokens],
        ]
    }

    /// One line per tool call of `answer`: what the model searched for or called.
    static func toolSteps(_ answer: ToolAnswer) -> String {
        answer.toolCalls.map { r in
            TerminalText.line("  \(r.error == nil ? "called" : "failed") \(r.call.name) \(r.call.arguments)")
        }.joined(separator: "\n")
    }

    static func hit(_ c: Citation) -> [String: Any] {
        [
            "number": c.number, "id": c.id, "score": Double(c.score), "source": c.source, "document": c.document,
            "location": c.location ?? NSNull(), "position": c.position ?? NSNull(), "reference": c.reference,
            "text": c.text,
            "metadata": c.metadata.mapValues { jsonValue($0) },
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
