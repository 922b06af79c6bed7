import ArgumentParser
import Foundation
import Query
import QuiverCore

/// `quiver query QUESTION`: answers once, or every line of a file concurrently.
struct QueryCommand: AsyncParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Answer QUESTION from the collection, with sources.",
        discussion: "Without an LLM (--llm none, the default) the answer is extractive: the best-matching sentences.")

    @Argument(help: "The question (omit with --questions).") var question: String?
    @OptionGroup var ask: AskOptions
    @Option(help: "Answer every line of FILE concurrently; one JSON line per question, in order.") var questions: String?
    @Option(help: "Completions in flight with --questions (default: the model's: 64 OpenAI-compatible, 4 Ollama, 8 extractive).")
    var concurrency: Int?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        guard (question == nil) != (questions == nil) else { throw ValidationError("give either QUESTION or --questions FILE") }
        guard concurrency.map({ $0 > 0 }) ?? true else { throw ValidationError("--concurrency must be positive") }
    }

    func run() async throws {
        if let file = questions { return try await answerFile(file) }
        let engine = try await ask.engine()
        let question = self.question ?? ""
        if ask.tools { return try await answerWithTools(question, engine) }
        if json {
            print(try AnswerOutput.line(AnswerOutput.json(try await engine.answer(question))))
            return
        }
        // Stream the answer as it comes.
        var answer: Answer?
        for try await event in engine.stream(question) {
            switch event {
            case .sources: break
            case .delta(let text):
                // Document sentences or a model's words: shown, never obeyed, by the terminal.
                FileHandle.standardOutput.write(Data(TerminalText.block(text).utf8))
            case .finished(let a): answer = a
            }
        }
        guard let answer else { return }
        print("")
        if answer.isExtractive { print(AnswerOutput.extractiveNote) }
        if answer.sources.isEmpty {
            print("\nNo sources matched.")
        } else {
            print("\nSources:\n" + AnswerOutput.sources(answer.sources, cited: answer.citations))
        }
    }

    /// Answers with the search tool: the model searches as often as it needs.
    func answerWithTools(_ question: String, _ engine: QueryEngine) async throws {
        let answer = try await AskOptions.toolAnswerer(engine, maxSteps: ask.maxSteps).answer(question)
        if json {
            print(try AnswerOutput.line(AnswerOutput.json(answer)))
            return
        }
        // A model's words: shown, never obeyed, by the terminal.
        FileHandle.standardOutput.write(Data(TerminalText.block(answer.text).utf8))
        print("")
        let calls = answer.toolCalls.count
        print("\n\(answer.steps.count) steps, \(calls) tool call\(calls == 1 ? "" : "s"), \(answer.usage.totalTokens) tokens")
        if calls > 0 { print(AnswerOutput.toolSteps(answer)) }
        if answer.sources.isEmpty {
            print("\nNo sources matched.")
        } else {
            print("\nSources:\n" + AnswerOutput.sources(answer.sources, cited: answer.citations))
        }
    }

    func answerFile(_ file: String) async throws {
        let engine = try await ask.engine(concurrency: concurrency)
        let concurrency = engine.concurrency
        try FileDescriptors.ensureAvailable(2 * concurrency, for: "--questions at --concurrency \(concurrency)", perUnit: 2)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read the questions file \(file)", hint: "give a text file with one question per line")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let results: [Result<[String: Any], Error>]
        if ask.tools {
            let answerer = try AskOptions.toolAnswerer(engine, maxSteps: ask.maxSteps, concurrency: concurrency)
            results = await answerer.answer(batch: lines).map { $0.map(AnswerOutput.json) }
        } else {
            results = await engine.answer(batch: lines).map { $0.map(AnswerOutput.json) }
        }
        var failed = 0
        for (q, r) in zip(lines, results) {
            switch r {
            case .success(let a): print(try AnswerOutput.line(a))
            case .failure(let e):
                failed += 1
                print(try AnswerOutput.line(["question": q, "error": ErrorReport.explain(e, store: nil).message]))
            }
        }
        if failed > 0 {
            FileHandle.standardError.write(Data("\(failed) of \(lines.count) questions failed\n".utf8))
            throw ExitCode(failed == lines.count ? 1 : 3)
        }
    }
}
