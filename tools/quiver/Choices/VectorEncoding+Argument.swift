import ArgumentParser
import VectorStore

/// `--encoding f32|f16|i8`.
extension VectorEncoding: ExpressibleByArgument {}
