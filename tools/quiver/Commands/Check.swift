import ArgumentParser
import Foundation
import Query

/// `quiver check`: verifies the store's integrity; exit code 1 when it is damaged.
///
/// The check walks every page of the file before LMDB reads any (`Store.check()`,
/// `StoreOptions.checkPagesOnOpen`), so damage that would stop liblmdb (an assertion, a
/// bus error) is reported instead. It still runs in a child process (this same program
/// with `--in-process`): `check` exists to diagnose damage, so it must outlive anything
/// the walk does not foresee and say what it found.
struct Check: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "Check the store's integrity.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Flag(help: .hidden) var inProcess = false
    @OptionGroup var verbosity: VerboseOptions

    /// Marks the child's progress lines on stderr (which collection it reads).
    static let progressMarker = "quiver-check: reading collection "

    func run() throws {
        try storeOptions.requireEmbedded("check")
        if inProcess { return try checkHere() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["check", "--in-process", "--store", storeOptions.path] + (verbosity.verbose ? ["--verbose"] : [])
        let out = Pipe()
        let err = Pipe()
        child.standardOutput = out
        child.standardError = err
        try child.run()
        // Both pipes read at once, so a full one never blocks the child.
        let errBox = DataBox()
        let done = DispatchSemaphore(value: 0)
        // On a dispatch thread: a detached Foundation `Thread` can still hold the closure
        // (and the data) when the process exits, which LeakSanitizer reports.
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        child.waitUntilExit()
        FileHandle.standardOutput.write(outData)
        var reading: String?
        var messages: [String] = []
        for line in String(decoding: errBox.data, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix(Self.progressMarker) {
                reading = String(line.dropFirst(Self.progressMarker.count))
            } else {
                messages.append(String(line))
            }
        }
        guard child.terminationReason == .uncaughtSignal else {
            if !messages.isEmpty { FileHandle.standardError.write(Data((messages.joined(separator: "\n") + "\n").utf8)) }
            if child.terminationStatus != 0 { throw ExitCode(child.terminationStatus) }
            return
        }
        let signal = child.terminationStatus
        let name = String(cString: strsignal(signal))
        let said = messages.first { $0.contains("Assertion") || $0.contains("mdb.c") }.map { ": \($0)" } ?? ""
        throw CLIError(
            "the store is damaged: reading \(reading.map { "collection \"\(TerminalText.line($0))\"" } ?? "it") stopped LMDB "
                + "(signal \(signal), \(name)\(TerminalText.line(said))): data.mdb holds pages LMDB cannot read",
            hint: "restore the store from a backup, or re-index into a new store; collections checked before it are above")
    }

    /// The check itself, in this process, one collection at a time.
    func checkHere() throws {
        // The page walk runs before LMDB reads the store's own tables, too.
        var options = StoreOptions.noCreate
        options.checkPagesOnOpen = true
        let store = try Store(path: storeOptions.path, options: options)
        // One page walk for the whole store, then the collections through LMDB.
        let report = try store.check { name in
            FileHandle.standardError.write(Data((Self.progressMarker + name + "\n").utf8))
        }
        print(TerminalText.block("\(report)"))
        var blocks = "\(report.verifiedBlocks) vector blocks verified by checksum"
        if report.unsealedBlocks > 0 {
            blocks += ", \(report.unsealedBlocks) written before checksums (`quiver compact` rewrites them with one)"
        }
        print(blocks)
        var records = "\(report.verifiedRecords) records verified by checksum"
        if report.unsealedRecords > 0 {
            records += ", \(report.unsealedRecords) written before checksums (`quiver compact` rewrites them with one)"
        }
        print(records)
        if !report.isHealthy { throw ExitCode.failure }
    }
}

/// The child's stderr, filled by one reader thread and read after it signalled.
private final class DataBox: @unchecked Sendable {
    // @unchecked: written once by the reader thread before it signals; read only after the wait.
    var data = Data()
}
