@_exported import VectorStore
