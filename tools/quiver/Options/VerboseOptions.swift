import ArgumentParser

/// `--verbose` (`-v`), shared by the root and every subcommand: errors gain a `detail:` line, and
/// `index` and `search` print extra lines.
struct VerboseOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Add detail to errors, and extra lines to index and search output.")
    var verbose = false
}
