/// How a search found its candidates, for `--verbose`, the console's `:explain` and tuning:
/// the access path that ran, named by the backend ("scan", "gather"; other backends and
/// indexes add their own), its figures, and the paths the planner weighed.
///
/// An open value rather than a closed enum, so that a new index or backend reports its
/// plan without changing this type.
public struct SearchPlan: Sendable, Hashable, CustomStringConvertible {
    /// A named figure of the plan: rows scored, blocks, threads, filter matches, …
    public struct Figure: Sendable, Hashable {
        /// The figure's name, e.g. `rows scored`.
        public var name: String
        /// Its value.
        public var value: Double

        /// Creates a figure.
        public init(_ name: String, _ value: Double) {
            self.name = name
            self.value = value
        }
    }

    /// An access path the planner weighed, with its estimated cost (arbitrary units; lower
    /// is cheaper).
    public struct Candidate: Sendable, Hashable {
        /// The path's name.
        public var access: String
        /// Its estimated cost.
        public var cost: Double

        /// Creates a candidate.
        public init(access: String, cost: Double) {
            self.access = access
            self.cost = cost
        }
    }

    /// The access path that ran.
    public var access: String
    /// The figures it reported, in order.
    public var figures: [Figure]
    /// The paths the planner weighed (the one that ran among them), cheapest first.
    public var considered: [Candidate]
    /// The plans a combined search ran, e.g. the dense and the keyword search that a
    /// hybrid search fused (empty otherwise).
    public var parts: [SearchPlan]

    /// Creates a plan.
    public init(access: String, figures: [Figure] = [], considered: [Candidate] = [], parts: [SearchPlan] = []) {
        self.access = access
        self.figures = figures
        self.considered = considered
        self.parts = parts
    }

    /// The value of the figure named `name`, if the plan reported it.
    public subscript(_ name: String) -> Double? {
        figures.first { $0.name == name }?.value
    }

    /// Rows whose vectors were scored.
    public var rowsScored: Int { Int(self[Figure.rowsScored] ?? 0) }
    /// Vector blocks in the collection (LMDB backend).
    public var blocks: Int { Int(self[Figure.blocks] ?? 0) }
    /// Threads that scored.
    public var threads: Int { Int(self[Figure.threads] ?? 0) }
    /// Rows the filter admits (nil without a filter, or when it is a negation).
    public var filterMatches: Int? { self[Figure.filterMatches].map { Int($0) } }

    /// One line, e.g. `gather: 501 rows scored in 6 blocks on 1 thread(s), filter matches 501`
    /// for the LMDB paths; other paths list their figures; a combined search lists its
    /// parts after its own, e.g. `hybrid: fusion rrf k=60, candidates 100; dense scan: …;
    /// keyword: …`.
    public var description: String {
        guard parts.isEmpty else {
            return ([ownDescription] + parts.map { "\($0.access == SearchMode.keyword.rawValue ? "" : "dense ")\($0.description)" })
                .joined(separator: "; ")
        }
        return ownDescription
    }

    private var ownDescription: String {
        var s = "\(access):"
        if let rows = self[Figure.rowsScored], let blocks = self[Figure.blocks], let threads = self[Figure.threads] {
            s += " \(Int(rows)) rows scored in \(Int(blocks)) blocks on \(Int(threads)) thread(s)"
            let rest = figures.filter { ![Figure.rowsScored, Figure.blocks, Figure.threads].contains($0.name) }
            for f in rest { s += ", \(f.name) \(Self.format(f.value))" }
        } else {
            s += figures.map { " \($0.name) \(Self.format($0.value))" }.joined(separator: ",")
        }
        return s
    }

    private static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

extension SearchPlan.Figure {
    /// Names of the figures the LMDB paths report.
    public static let rowsScored = "rows scored"
    /// Vector blocks in the collection.
    public static let blocks = "blocks"
    /// Threads that scored.
    public static let threads = "threads"
    /// Rows the filter admits.
    public static let filterMatches = "filter matches"
    /// Candidates per query that a scan of compact (f16, int8) vectors rescored from their
    /// float32 copies.
    public static let rescored = "rescored from f32"
    /// IVF lists a partitioned search scored (the union over the batch's queries).
    public static let listsProbed = "lists probed"
    /// IVF lists in the collection's index.
    public static let lists = "lists"
    /// Lists each query probed, after widening for the filter.
    public static let nprobe = "nprobe"
    /// Rows in no IVF list (written since writes last filed rows into lists) that a
    /// partitioned search scored besides its lists.
    public static let rowsOutsideLists = "rows in no list"
}
