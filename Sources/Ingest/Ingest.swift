@_exported import HTTP
@_exported import VectorStore
