import ArgumentParser
import Foundation
import Query

/// `quiver check`: verifies the store's integrity; exit code 1 when it is damaged.
struct Check: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "Check the store's integrity.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        let report = try Store(path: storeOptions.path, options: .noCreate).check()
        print(TerminalText.block("\(report)"))
        var blocks = "\(report.verifiedBlocks) vector blocks verified by checksum"
        if report.unsealedBlocks > 0 {
            blocks += ", \(report.unsealedBlocks) written before checksums (`quiver compact` rewrites them with one)"
        }
        print(blocks)
        if !report.isHealthy { throw ExitCode.failure }
    }
}
