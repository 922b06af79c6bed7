import ArgumentParser
import CEdit
import CLineEdit
import Foundation
import Query
import Synchronization

/// Interrupts (SIGINT) counted by a signal handler; the console compares counts to notice
/// Ctrl-C.
let interrupts = Atomic<Int>(0)

/// A pipe the SIGINT handler writes a byte to, so a wait for input can end on Ctrl-C.
let interruptPipe: (read: Int32, write: Int32) = {
    var fds: [Int32] = [0, 0]
    pipe(&fds)
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}()

/// `quiver repl`: the interactive query console.
struct Repl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The interactive query console (reads questions line by line when stdin is not a terminal).",
        discussion: """
            Commands: :help, :k N, :where KEY=VALUE (repeatable; :where alone lists the filters), :clear (drop the \
            filters), :sources (the last answer's sources in full), :explain (how the last search ran), :stats, :quit. Ctrl-C cancels the answer being \
            written; Ctrl-D leaves.
            """)

    @OptionGroup var ask: AskOptions
    @Option(help: "History file (default: $QUIVER_HISTORY, else ~/.quiver_history).") var history: String?

    func run() async throws {
        var session = Session(engine: try await ask.engine(), interactive: isatty(0) != 0, filters: ask.where)
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
            print("Quiver — \(ask.collection) in \(ask.storeOptions.path): \(count) chunks, answers by \(session.answerer).")
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
                    print("error: \(message)" + (hint.map { "\nhint: \($0)" } ?? ""))
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

    /// The console's state: the engine (with k and filters) and the last answer.
    struct Session {
        var engine: QueryEngine
        let interactive: Bool
        var filters: [String]
        var last: Answer?
        /// The retrieval options the last answer used.
        var lastOptions: RetrievalOptions?

        var answerer: String { engine.model?.name ?? "extraction (no LLM; --llm openai|ollama for generated answers)" }

        func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

        /// Answers, streaming the text; Ctrl-C cancels this answer only.
        mutating func answer(_ question: String) async {
            if !interactive { write("> \(question)\n") }
            let engine = self.engine
            let start = interrupts.load(ordering: .relaxed)
            let task = Task { () throws -> Answer? in
                var done: Answer?
                for try await event in engine.stream(question) {
                    switch event {
                    case .sources: break
                    case .delta(let text): FileHandle.standardOutput.write(Data(text.utf8))
                    case .finished(let a): done = a
                    }
                }
                try Task.checkCancellation()  // a cancelled stream ends without an error
                return done
            }
            let watcher = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(50))
                    if interrupts.load(ordering: .relaxed) != start {
                        task.cancel()
                        return
                    }
                }
            }
            let result = await task.result
            watcher.cancel()
            switch result {
            case .success(let a?):
                last = a
                lastOptions = engine.retriever.options
                write("\n")
                if a.sources.isEmpty {
                    write("No sources matched\(filters.isEmpty ? "" : " the filters").\n\n")
                } else {
                    write("Sources:\n" + AnswerOutput.sources(a.sources, cited: a.citations) + "\n\n")
                }
            case .success(nil):
                write("\n")
            case .failure where task.isCancelled:
                write("\n(cancelled)\n\n")
            case .failure(let error):
                let (message, hint) = ErrorReport.explain(error, store: nil)
                write("\nerror: \(message)\n" + (hint.map { "hint: \($0)\n" } ?? "") + "\n")
            }
        }

        /// Runs a `:command`; false to leave.
        mutating func command(_ line: String) async throws -> Bool {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            switch parts[0] {
            case ":quit", ":q", ":exit":
                return false
            case ":help", ":h", ":?":
                write(
                    """
                    Type a question to answer it from the collection. Commands:
                      :k N              retrieve N chunks per question (now \(engine.retriever.options.k))
                      :where KEY=VALUE  only chunks whose metadata matches (repeatable); :where lists them
                      :clear            drop the filters
                      :sources          the last answer's sources, in full
                      :explain          how the last search ran (scan or gather, rows scored)
                      :stats            the collection and settings
                      :quit             leave (or Ctrl-D)

                    """)
            case ":k":
                guard let n = Int(argument), n > 0 else {
                    write("usage: :k N, with N a positive number\n")
                    return true
                }
                engine.retriever.options.k = n
                write("k = \(n)\n")
            case ":where":
                if argument.isEmpty {
                    write(filters.isEmpty ? "no filters\n" : filters.map { "where \($0)" }.joined(separator: "\n") + "\n")
                    return true
                }
                do {
                    let next = filters + [argument]
                    engine.retriever.options.filter = try Filters.parse(next)
                    filters = next
                    write("filters: \(filters.joined(separator: ", "))\n")
                } catch {
                    write("usage: :where KEY=VALUE (\(error))\n")
                }
            case ":clear":
                filters = []
                engine.retriever.options.filter = nil
                write("filters cleared\n")
            case ":sources":
                guard let last, !last.sources.isEmpty else {
                    write("no sources yet: ask a question first\n")
                    return true
                }
                for c in last.sources {
                    write("[\(c.number)] \(c.source)\(c.location.map { " — \($0)" } ?? "")  (\(c.score))\n\(c.text)\n\n")
                }
            case ":explain":
                guard let last else {
                    write("no search yet: ask a question first\n")
                    return true
                }
                let r = engine.retriever
                let options = lastOptions ?? r.options
                let vector = try await r.embedder.embed([last.searchedQuestion])[0]
                let plan = try await r.collection.searchExplained(
                    batch: [vector], k: options.candidatePool, filter: options.filter
                ).plan
                write("search for \"\(last.searchedQuestion)\": \(plan)\n")
            case ":stats":
                let c = engine.retriever.collection
                let count = try await c.count()
                write(
                    """
                    collection  \(c.name): \(count) chunks, \(c.dimension) dimensions, \(c.metric.rawValue)
                    embedder    \(engine.retriever.embedder.identifier)
                    answers     \(answerer)
                    k           \(engine.retriever.options.k)
                    filters     \(filters.isEmpty ? "none" : filters.joined(separator: ", "))

                    """)
            default:
                write("unknown command \(parts[0]); :help lists them\n")
            }
            return true
        }
    }
}
