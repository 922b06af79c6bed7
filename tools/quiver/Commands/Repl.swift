import ArgumentParser
import CEdit
import CLineEdit
import Foundation
import Query
import Synchronization

/// `quiver repl`: the interactive query console.
struct Repl: AsyncParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "The interactive query console (reads questions line by line when stdin is not a terminal).",
        discussion: """
            Commands: :help, :k N, :where KEY=VALUE (repeatable; :where alone lists the filters), :clear (drop the \
            filters), :sources (the last answer's sources in full), :explain (how the last search ran), :stats, :quit. Ctrl-C cancels the answer being \
            written; Ctrl-D leaves.
            """)

    @OptionGroup var ask: AskOptions
    @Option(help: "History file (default: $QUIVER_HISTORY, else ~/.quiver_history).") var history: String?
    @OptionGroup var verbosity: VerboseOptions

    func run() async throws {
        var session = Session(engine: try await ask.engine(), interactive: isatty(0) != 0, filters: ask.where)
        session.tools = ask.tools
        session.maxSteps = ask.maxSteps
        if ask.tools { _ = try AskOptions.toolAnswerer(session.engine, maxSteps: ask.maxSteps) }
        // Ctrl-C is counted and wakes the line reader through a pipe (the handler only
        // does async-signal-safe things).
        // Both globals are initialized here, not lazily inside the handler.
        _ = interruptPipe
        _ = interrupts.load(ordering: .relaxed)
        signal(SIGINT) { _ in
            interrupts.add(1, ordering: .relaxed)
            var byte: UInt8 = 1
            _ = write(interruptPipe.write, &byte, 1)
        }
        quiver_edit_bind_interrupt(interruptPipe.write)
        let historyPath =
            history ?? ProcessInfo.processInfo.environment["QUIVER_HISTORY"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".quiver_history")
        if session.interactive {
            using_history()
            _ = read_history(historyPath)
            let count = (try? await session.engine.retriever.collection.count()) ?? 0
            print(
                TerminalText.line(
                    "Quiver — \(ask.collection) in \(ask.storeOptions.display): \(count) chunks, answers by \(session.answerer)."))
            print("Ask a question, or :help. Ctrl-C cancels an answer, Ctrl-D leaves.")
        }
        while true {
            let before = interrupts.load(ordering: .relaxed)
            let interactive = session.interactive
            let read = try await Self.offPool { interactive ? Self.readEdited("quiver> ") : (Swift.readLine(), false) }
            guard let line = read.0 else {
                if read.1 || (interactive && interrupts.load(ordering: .relaxed) != before) {
                    print("^C")  // Ctrl-C at the prompt: the line is dropped, the console stays
                    continue
                }
                break
            }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if interactive {
                add_history(text)
                _ = write_history(historyPath)
            }
            if text.hasPrefix(":") {
                do {
                    if try await !session.command(text) { break }
                } catch {
                    // A command that fails (the embedding server is down, say) leaves the console open.
                    let (message, hint) = ErrorReport.explain(error, store: nil)
                    print("error: \(TerminalText.line(message))" + (hint.map { "\nhint: \(TerminalText.line($0))" } ?? ""))
                }
            } else {
                await session.answer(text)
            }
        }
        if session.interactive { print("") }
    }

    /// A line from libedit, without its newline, and whether Ctrl-C dropped it; nil and
    /// false at end of input.
    static func readEdited(_ prompt: String) -> (String?, Bool) {
        var interrupted: Int32 = 0
        guard let raw = quiver_edit_line(prompt, interruptPipe.read, &interrupted) else { return (nil, interrupted != 0) }
        defer { free(raw) }
        return (String(cString: raw), false)
    }

    /// Runs blocking input on a thread of its own, off the cooperative pool.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }
}
