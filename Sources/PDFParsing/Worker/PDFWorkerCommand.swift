import Foundation

/// How Quiver starts a PDF worker process: an executable, its arguments and environment
/// entries added to Quiver's own.
///
/// ```swift
/// PDFWorkerCommand.helper                                           // quiver-pdf-worker beside the app
/// PDFWorkerCommand.currentExecutable(arguments: ["pdf-worker"])     // the app itself (see PDFWorker)
/// ```
public struct PDFWorkerCommand: Sendable, Hashable {
    /// The executable's path.
    public var executable: String
    /// Its arguments (not counting the executable).
    public var arguments: [String]
    /// Entries added to the environment the worker inherits.
    public var environment: [String: String]

    /// A command.
    public init(executable: String, arguments: [String] = [], environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    /// The environment variable naming the worker executable, for `helper`.
    public static let pathVariable = "QUIVER_PDF_WORKER"

    /// The helper executable: `$QUIVER_PDF_WORKER` when set, else `quiver-pdf-worker` in
    /// the folder of the running executable (where SwiftPM builds it and where an
    /// application installs it beside itself).
    public static var helper: PDFWorkerCommand {
        if let path = ProcessInfo.processInfo.environment[pathVariable], !path.isEmpty {
            return PDFWorkerCommand(executable: path)
        }
        let me = URL(fileURLWithPath: runningExecutable).resolvingSymlinksInPath()
        return PDFWorkerCommand(executable: me.deletingLastPathComponent().appendingPathComponent("quiver-pdf-worker").path)
    }

    /// The running executable itself, called with `arguments`: for an application that
    /// calls `PDFWorker.serve()` when it sees them, so that it needs no helper beside it.
    public static func currentExecutable(arguments: [String]) -> PDFWorkerCommand {
        PDFWorkerCommand(executable: runningExecutable, arguments: arguments)
    }

    /// `/proc/self/exe` resolved, else the first argument.
    static var runningExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
