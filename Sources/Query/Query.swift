@_exported import VectorStore

/// Retrieval and answering over a collection. Its types arrive with the query issue;
/// the module exists so applications can depend on it now.
public enum Query {
    /// The module's version string.
    public static let version = "0.1.0"
}
