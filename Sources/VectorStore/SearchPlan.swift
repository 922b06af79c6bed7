/// How a search found its candidates, for `--verbose` output and tuning.
public struct SearchPlan: Sendable, Hashable, CustomStringConvertible {
    /// The two ways to score a collection.
    public enum Path: String, Sendable {
        /// Every live vector is scored block by block; a filter acts as a mask.
        case scan
        /// Only the filter's matching rows (from the metadata index) are scored.
        case gather
    }
    /// Which path ran.
    public var path: Path
    /// Rows scored.
    public var rowsScored: Int
    /// Rows the filter admits (nil without a filter or when it is a negation).
    public var filterMatches: Int?
    /// Vector blocks in the collection.
    public var blocks: Int
    /// Threads used for scoring.
    public var threads: Int

    /// One line, e.g. `gather: 501 rows scored in 6 blocks on 1 thread(s), filter matches 501`.
    public var description: String {
        var s = "\(path.rawValue): \(rowsScored) rows scored in \(blocks) blocks on \(threads) thread(s)"
        if let m = filterMatches { s += ", filter matches \(m)" }
        return s
    }
}
