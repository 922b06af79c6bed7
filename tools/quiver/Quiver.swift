import ArgumentParser
import Foundation

@main
struct Quiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Quiver: an embedded vector store with integrated ingestion and question answering.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage error, 3 some documents (or questions) failed \
            while the rest succeeded. Flags override environment variables (QUIVER_STORE, OPENAI_API_KEY, \
            OPENAI_BASE_URL, OLLAMA_HOST, QUIVER_MODEL_DIR), which override defaults. --verbose, anywhere on the \
            line, adds detail to errors and progress.
            """,
        subcommands: [
            Index.self, QueryCommand.self, Repl.self, Search.self, Embed.self, Stats.self, Collections.self, Delete.self,
            Compact.self, Check.self, Demo.self,
        ])

    /// Exit codes: 0 success, 1 failure, 2 usage error, 3 some documents failed.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let verbose = arguments.contains("--verbose") || arguments.contains("-v")
        do {
            var command = try parseAsRoot(arguments.filter { $0 != "--verbose" && $0 != "-v" })
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            if exitCode(for: error) != .failure { exit(withError: error) }  // --help, --version
            let store = arguments.firstIndex(of: "--store").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
            let (message, hint) = ErrorReport.explain(error, store: store)
            var text = "error: \(message)\n"
            if let hint { text += "hint: \(hint)\n" }
            if verbose { text += "detail: \(String(reflecting: error))\n" }
            FileHandle.standardError.write(Data(text.utf8))
            Foundation.exit(1)
        }
    }
}
