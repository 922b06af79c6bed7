import ArgumentParser

/// A command that takes `--verbose`: `Quiver.main()` asks the parsed command whether
/// errors should carry detail.
protocol VerboseCommand: ParsableCommand {
    /// The command's `--verbose` flag.
    var verbosity: VerboseOptions { get }
}
