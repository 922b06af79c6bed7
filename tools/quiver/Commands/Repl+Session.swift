import Foundation
import Query

extension Repl {
    /// The console's state: the engine (with k and filters) and the last answer.
    struct Session {
        var engine: QueryEngine
        let interactive: Bool
        var filters: [String]
        var last: Answer?
        /// The retrieval options the last answer used.
        var lastOptions: RetrievalOptions?
        /// Whether questions are answered with the search tool (`:tools on`).
        var tools = false
        /// Most model steps per answer with tools.
        var maxSteps = 8
        /// The sources of the last answer given with tools.
        var lastToolSources: [Citation] = []

        /// The retrieval mode questions run in now.
        var mode: String { engine.retriever.options.resolvedMode(for: engine.retriever.collection.info).rawValue }

        var answerer: String { engine.model?.name ?? "extraction (no LLM; --llm openai|ollama for generated answers)" }

        func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

        /// Runs `work`; Ctrl-C cancels it (and only it).
        func cancellable<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async -> (Result<T, Error>, cancelled: Bool) {
            let start = interrupts.load(ordering: .relaxed)
            let task = Task { try await work() }
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
            return (result, task.isCancelled)
        }

        func report(_ error: Error) {
            let (message, hint) = ErrorReport.explain(error, store: nil)
            write("\nerror: \(TerminalText.line(message))\n" + (hint.map { "hint: \(TerminalText.line($0))\n" } ?? "") + "\n")
        }

        /// Answers, streaming the text; Ctrl-C cancels this answer only.
        mutating func answer(_ question: String) async {
            if !interactive { write("> \(TerminalText.line(question))\n") }
            if tools { return await answerWithTools(question) }
            let engine = self.engine
            let (result, cancelled) = await cancellable { () throws -> Answer? in
                var done: Answer?
                for try await event in engine.stream(question) {
                    switch event {
                    case .sources: break
                    case .delta(let text): FileHandle.standardOutput.write(Data(TerminalText.block(text).utf8))
                    case .finished(let a): done = a
                    }
                }
                try Task.checkCancellation()  // a cancelled stream ends without an error
                return done
            }
            switch result {
            case .success(let a?):
                last = a
                lastToolSources = []
                lastOptions = engine.retriever.options
                write("\n")
                if a.sources.isEmpty {
                    write("No sources matched\(filters.isEmpty ? "" : " the filters").\n\n")
                } else {
                    write("Sources:\n" + AnswerOutput.sources(a.sources, cited: a.citations) + "\n\n")
                }
            case .success(nil):
                write("\n")
            case .failure where cancelled:
                write("\n(cancelled)\n\n")
            case .failure(let error):
                report(error)
            }
        }

        /// Answers with the search tool: the model searches as often as it needs.
        mutating func answerWithTools(_ question: String) async {
            let answerer: ToolAnswerer
            do { answerer = try AskOptions.toolAnswerer(engine, maxSteps: maxSteps) } catch {
                return report(error)
            }
            let (result, cancelled) = await cancellable { try await answerer.answer(question) }
            switch result {
            case .success(let a):
                lastToolSources = a.sources
                write(TerminalText.block(a.text) + "\n")
                let calls = a.toolCalls.count
                write("(\(a.steps.count) steps, \(calls) tool call\(calls == 1 ? "" : "s"), \(a.usage.totalTokens) tokens)\n")
                if calls > 0 { write(AnswerOutput.toolSteps(a) + "\n") }
                if a.sources.isEmpty {
                    write("No sources matched\(filters.isEmpty ? "" : " the filters").\n\n")
                } else {
                    write("Sources:\n" + AnswerOutput.sources(a.sources, cited: a.citations) + "\n\n")
                }
            case .failure where cancelled:
                write("\n(cancelled)\n\n")
            case .failure(let error):
                report(error)
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
                      :mode M           dense, keyword or hybrid retrieval (now \(mode))
                      :where KEY=VALUE  only chunks whose metadata matches (repeatable); :where lists them
                      :clear            drop the filters
                      :tools on|off     let the model search, as often as it needs (now \(tools ? "on" : "off"); needs --llm)
                      :sources          the last answer's sources, in full
                      :explain          how the last search ran (mode, scan or gather, rows scored, postings)
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
            case ":mode":
                guard let m = SearchMode(rawValue: argument.lowercased()) else {
                    write("usage: :mode dense|keyword|hybrid (now \(mode))\n")
                    return true
                }
                if m != .dense && engine.retriever.collection.info.keywordAnalyzer == nil {
                    write(
                        "collection \(TerminalText.line(engine.retriever.collection.name)) has no keyword index; "
                            + "build one with `quiver reindex --keyword`\n")
                    return true
                }
                engine.retriever.options.mode = m
                write("mode = \(m.rawValue)\n")
            case ":where":
                if argument.isEmpty {
                    write(
                        filters.isEmpty
                            ? "no filters\n" : filters.map { "where \(TerminalText.line($0))" }.joined(separator: "\n") + "\n")
                    return true
                }
                do {
                    let next = filters + [argument]
                    engine.retriever.options.filter = try Filters.parse(next)
                    filters = next
                    write("filters: \(TerminalText.line(filters.joined(separator: ", ")))\n")
                } catch {
                    write("usage: :where KEY=VALUE (\(TerminalText.line("\(error)")))\n")
                }
            case ":clear":
                filters = []
                engine.retriever.options.filter = nil
                write("filters cleared\n")
            case ":tools":
                switch argument.lowercased() {
                case "on":
                    guard engine.model != nil else {
                        write("answering with tools needs a language model: start the console with --llm openai|ollama\n")
                        return true
                    }
                    tools = true
                case "off": tools = false
                default:
                    write("usage: :tools on|off (now \(tools ? "on" : "off"))\n")
                    return true
                }
                write("tools \(tools ? "on: the model searches the collection itself" : "off")\n")
            case ":sources":
                let sources = lastToolSources.isEmpty ? last?.sources ?? [] : lastToolSources
                guard !sources.isEmpty else {
                    write("no sources yet: ask a question first\n")
                    return true
                }
                for c in sources {
                    let header = TerminalText.line("[\(c.number)] \(c.reference)  (\(c.score))")
                    write("\(header)\n\(TerminalText.block(c.text))\n\n")
                }
            case ":explain":
                guard let last else {
                    write("no search yet: ask a question first\n")
                    return true
                }
                let r = engine.retriever
                let plan = try await r.explain(last.searchedQuestion, options: lastOptions ?? r.options).plan
                write(TerminalText.line("search for \"\(last.searchedQuestion)\": \(plan)") + "\n")
            case ":stats":
                let c = engine.retriever.collection
                let count = try await c.count()
                write(
                    """
                    collection  \(TerminalText.line(c.name)): \(count) chunks, \(c.dimension) dimensions, \(c.metric.rawValue)
                    embedder    \(engine.retriever.embedder.identifier)
                    answers     \(answerer)\(tools ? ", with tools" : "")
                    k           \(engine.retriever.options.k)
                    mode        \(mode)\(c.info.keywordAnalyzer.map { " (keyword analyzer \($0.identifier))" } ?? " (no keyword index)")
                    filters     \(filters.isEmpty ? "none" : TerminalText.line(filters.joined(separator: ", ")))

                    """)
            default:
                write("unknown command \(TerminalText.line(parts[0])); :help lists them\n")
            }
            return true
        }
    }
}
