import ArgumentParser
import Foundation
import PostgresStore
import PDFParsing

@main
struct Quiver: AsyncParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Quiver: an embedded vector store with integrated ingestion and question answering.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage error, 3 some documents (or questions) failed \
            while the rest succeeded. Flags override environment variables (QUIVER_STORE, OPENAI_API_KEY, \
            OPENAI_BASE_URL, OLLAMA_HOST, QUIVER_MODEL_DIR), which override defaults. --verbose (-v), anywhere \
            on the line, adds detail to errors and progress.
            """,
        subcommands: [
            Index.self, QueryCommand.self, Repl.self, Search.self, Embed.self, Stats.self, Collections.self, Delete.self,
            Drop.self, Reindex.self, Compact.self, Backup.self, Check.self, Doctor.self, Demo.self, Migrate.self,
        ])

    /// The hidden argument that makes this process a PDF worker.
    static let pdfWorkerArgument = "pdf-worker"

    /// Also the root's, so that `quiver --verbose SUBCOMMAND …` works too: argument-parser
    /// hands the value parsed for the root to the subcommand's group of the same type (its
    /// NestedCommandEndToEndTests cover a parent's flag before and after the subcommand).
    @OptionGroup var verbosity: VerboseOptions

    /// Exit codes: 0 success, 1 failure, 2 usage error, 3 some documents failed.
    ///
    /// `--verbose` is an ordinary flag (`VerboseOptions`, a group in every subcommand and in
    /// the root), so argument-parser accepts it before or after the subcommand and commands
    /// read it like any other option. An error thrown while the command runs gets its
    /// `detail:` line when the parsed command (a `VerboseCommand`) says so. Only when
    /// parsing itself failed is there no command to ask: then the raw arguments are
    /// scanned for `--verbose` or `-v`.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `quiver pdf-worker`: this binary as the PDF worker process that `quiver index`
        // starts (PDFWorker), so quiver needs no helper beside it. Not a user command.
        if arguments == [Self.pdfWorkerArgument] { PDFWorker.serve() }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(reporting: error, arguments: arguments, verbose: arguments.contains("--verbose") || arguments.contains("-v"))
        }
        let verbose = (command as? any VerboseCommand)?.verbosity.verbose ?? false
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error, arguments: arguments, verbose: verbose)
        }
    }

    /// Ends the process for `error`: its own code for `ExitCode`, 2 with argument-parser's
    /// message for a usage error, argument-parser's handling for `--help`, else 1 with
    /// "error: …", "hint: …" and, when `verbose`, "detail: …".
    static func exit(reporting error: Error, arguments: [String], verbose: Bool) -> Never {
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        if exitCode(for: error) == .validationFailure {
            FileHandle.standardError.write(Data((TerminalText.block(fullMessage(for: error)) + "\n").utf8))
            Foundation.exit(2)
        }
        if exitCode(for: error) != .failure { exit(withError: error) }  // --help, --version
        // A PostgreSQL URL may hold a password: hints name it without.
        let store = arguments.firstIndex(of: "--store").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
            .map { PostgresURL.isPostgres($0) ? PostgresURL.redacted($0) : $0 }
        let (message, hint) = ErrorReport.explain(error, store: store)
        // Messages name files, ids and URLs, and quote servers: escaped for the terminal.
        var text = "error: \(TerminalText.line(message))\n"
        if let hint { text += "hint: \(TerminalText.line(hint))\n" }
        if verbose { text += "detail: \(TerminalText.line(String(reflecting: error)))\n" }
        FileHandle.standardError.write(Data(text.utf8))
        Foundation.exit(1)
    }
}
