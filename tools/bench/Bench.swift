import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver-bench",
        abstract: "Quiver benchmarks: each figure next to a reference measured in the same run.",
        subcommands: [StoreBench.self, Writer.self])
}
