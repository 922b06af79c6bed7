import ArgumentParser
import Foundation
import Query

/// `quiver backup DEST`: a consistent copy of the store, safe while others use it.
struct Backup: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the store to DEST: one consistent snapshot, compacted, while others may read and write it.")
    @Argument(help: "The folder to write the copy to (new, or empty).") var destination: String
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Flag(inversion: .prefixedNo, help: "Leave free pages out, so the copy is as small as the live data allows.")
    var compact = true
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        try storeOptions.requireEmbedded("backup")
        let fm = FileManager.default
        if fm.fileExists(atPath: destination), !((try? fm.contentsOfDirectory(atPath: destination)) ?? ["?"]).isEmpty {
            throw CLIError("\(destination) is not empty", hint: "give a new or empty folder for the copy")
        }
        let store = try Store(path: storeOptions.path, options: .noCreate)
        let started = Date()
        try store.copy(to: destination, compact: compact)
        let bytes = ((try? fm.attributesOfItem(atPath: destination + "/data.mdb"))?[.size] as? Int) ?? 0
        print(
            String(
                format: "Copied %@ to %@: %.1f MB in %.2f s", TerminalText.line(storeOptions.path), TerminalText.line(destination),
                Double(bytes) / 1e6, Date().timeIntervalSince(started)))
    }
}
