@_exported import QuiverCore

/// The errors the `TextAnalysis` module throws: `QuiverError` with code `.invalidArgument`
/// (an unknown language, a malformed analyzer identifier), `input` naming the bad part.
public typealias AnalysisError = QuiverError
