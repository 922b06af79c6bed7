import ArgumentParser

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver-bench",
        abstract: "Quiver benchmarks: each figure next to a reference measured in the same run.",
        subcommands: [
            StoreBench.self, EmbedBench.self, SplitBench.self, IngestBench.self, PipelineBench.self, QueryBench.self,
            ModelBench.self, ParallelRAGBench.self, SgemmBench.self, RetrievalBench.self, Writer.self, DocumentsBench.self,
            ServePDF.self, TiersBench.self, PostgresBench.self,
        ])
}
