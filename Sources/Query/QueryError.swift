/// The errors the `Query` module throws: `QuiverError`, with answering's codes
/// (`.invalidArgument`, `.embedderMismatch`, `.badResponse`, `.truncatedStream`,
/// `.cancelled`) and typed fields.
public typealias QueryError = QuiverError
