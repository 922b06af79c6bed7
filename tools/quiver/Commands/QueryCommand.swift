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
    @Option(help: "Completions in flight with --questions.") var concurrency = 8
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        guard (question == nil) != (questions == nil) else { throw ValidationError("give either QUESTION or --questions FILE") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
    }

    func run() async throws {
        if let file = questions { return try await answerFile(file) }
        let engine = try await ask.engine()
        let question = self.question ?? ""
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

    func answerFile(_ file: String) async throws {
        try FileDescriptors.ensureAvailable(2 * concurrency, for: "--questions at --concurrency \(concurrency)", perUnit: 2)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read the questions file \(file)", hint: "give a text file with one question per line")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let engine = try await ask.engine(concurrency: concurrency)
        let results = await engine.answer(batch: lines)
        var failed = 0
        for (q, r) in zip(lines, results) {
            switch r {
            case .success(let a): print(try AnswerOutput.line(AnswerOutput.json(a)))
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
