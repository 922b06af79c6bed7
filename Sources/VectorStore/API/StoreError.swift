@_exported import QuiverCore
@_exported import TextAnalysis

/// The errors the `VectorStore` module throws: `QuiverError`, with the store's codes
/// (`.notAStore`, `.unsupportedFormat`, `.collectionNotFound`, `.collectionExists`,
/// `.invalidArgument`, `.dimensionMismatch`, `.invalidVector`, `.invalidID`,
/// `.invalidMetadata`, `.corrupted`, `.storage`, `.cancelled`) and typed fields naming the
/// path, collection, record and expected versus actual values.
public typealias StoreError = QuiverError
