/// The errors the `Ingest` module throws: `QuiverError`, with ingest's codes
/// (`.invalidArgument`, `.badEmbedding`, `.embedderMismatch`, `.modelNotFound`,
/// `.badModelFile`, `.unsupportedDocument`) and typed fields. Messages name the input and
/// never contain API keys or the texts themselves.
public typealias IngestError = QuiverError
