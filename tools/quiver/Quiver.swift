import ArgumentParser

@main
struct Quiver: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Quiver: an embedded vector store with integrated ingestion.",
        subcommands: [])
}
