import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quiver-bench", subcommands: [])
}
