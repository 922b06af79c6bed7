import ArgumentParser
import Foundation
import Query

/// `quiver compact`: reclaims deleted records' space in every collection; with
/// `--shrink`, also gives it back to the file system.
struct Compact: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reclaim deleted records' space in every collection.",
        discussion: """
            Freed space is reused by later writes; the file does not get smaller. --shrink also writes a \
            compacted copy of the file and swaps it in, so the file shrinks to the live data: it needs the \
            store alone, and refuses while another process has it open.
            """)
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Flag(help: "Swap in a compacted copy of the file, so that it shrinks (needs the store alone).") var shrink = false
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        try storeOptions.requireEmbedded("compact")
        if shrink {
            let report = try Store.shrink(path: storeOptions.path)
            print(
                String(
                    format: "%@: %.1f MB → %.1f MB", TerminalText.line(storeOptions.path), Double(report.bytesBefore) / 1e6,
                    Double(report.bytesAfter) / 1e6))
            return
        }
        let store = try Store(path: storeOptions.path, options: .noCreate)
        // The embedding caches too: they are rewritten as often as the collections.
        for info in try store.collections(includingReserved: true) {
            let blocks = try store.collection(info.name).compact()
            print("\(TerminalText.line(info.name)): \(blocks) blocks")
        }
    }
}
