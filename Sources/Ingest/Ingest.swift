@_exported import VectorStore

/// Ingestion: loaders, splitters, embedders and the pipeline. Its types arrive with the
/// ingest and embedding issues; the module exists so applications can depend on it now.
public enum Ingest {
    /// The module's version string.
    public static let version = "0.1.0"
}
