import Foundation
import TextAnalysis

/// BM25's two constants (the Lucene form: a term scores idf · tf / (tf + k1 · (1 − b + b ·
/// length / average length)), with idf = ln(1 + (N − df + 0.5) / (df + 0.5))).
public struct BM25Parameters: Sendable, Hashable {
    /// Term-frequency saturation, ≥ 0.
    public var k1: Double
    /// Length normalization, 0…1.
    public var b: Double

    /// Creates parameters; the defaults are Anserini's (k1 0.9, b 0.4).
    public init(k1: Double = 0.9, b: Double = 0.4) {
        self.k1 = k1
        self.b = b
    }

    /// Throws `.invalidArgument` unless k1 ≥ 0 and b is in 0…1 (both finite).
    public func validate() throws {
        guard k1.isFinite, k1 >= 0, b.isFinite, (0...1).contains(b) else {
            throw StoreError(.invalidArgument, "BM25 needs k1 ≥ 0 and b in 0…1, got k1 \(k1), b \(b)", input: "bm25")
        }
    }
}

/// A term's postings in row order: its list (`PostingBlock`s keyed by term and first row,
/// read through a cursor and skipped through with `MDB_SET_RANGE`), then its postings in
/// each segment (runs of blocks, read in place), leaving out rows deleted from segments.
/// One block at a time is decoded, into the 16-byte `Posting` form that scoring reads.
struct PostingList {
    private let cursor: Cursor?
    let term: [UInt8]
    /// Live postings of the term (its document frequency).
    let count: Int
    /// The term's postings in each segment that has it, oldest first.
    private let runs: [KeywordSegment.Run]
    private let snapshot: KeywordSnapshot
    /// The current block, decoded.
    private let scratch: PostingScratch
    private var page: UnsafeRawPointer
    private var pageCount: Int
    private var index: Int
    /// -1 while in the list, else the segment run.
    private var run: Int
    /// Within segment run `run`: where the block after the current one starts.
    private var runAt = 0
    /// The current posting's row, `UInt64.max` when the list is exhausted.
    private(set) var row: UInt64 = .max
    /// Blocks decoded (for the plan's figures).
    private(set) var blocksRead = 0

    /// Opens the postings of `term`; nil when no live row holds it.
    init?(term: [UInt8], _ txn: Transaction, _ index: KeywordIndex, _ snapshot: KeywordSnapshot) throws {
        let runs: [KeywordSegment.Run] = try term.withUnsafeBytes { t in try snapshot.segments.compactMap { try $0.postings(of: t) } }
        let scratch = PostingScratch()
        var deletedInRuns = 0
        if !snapshot.deleted.isEmpty {
            for r in runs {
                let p = scratch.reserve(r.count)
                try PostingBlock.decodeRun(r.start, bytes: r.bytes, count: r.count, into: p)
                for j in 0..<r.count where snapshot.isDeleted(Posting.row(p + j * Posting.size)) { deletedInRuns += 1 }
            }
        }
        let listCount = try term.withUnsafeBytes { try index.listFrequency($0, txn) }
        let count = listCount + runs.reduce(0) { $0 + $1.count } - deletedInRuns
        guard count > 0 else { return nil }
        self.term = term
        self.count = count
        self.runs = runs
        self.snapshot = snapshot
        self.scratch = scratch
        page = UnsafeRawPointer(scratch.reserve(PostingBlock.maxPostings))
        pageCount = 0
        self.index = 0
        run = -1
        if listCount > 0 {
            let cursor = try Cursor(txn, index.postings.dbi)
            self.cursor = cursor
            do {
                let first = try term.withUnsafeBytes { t in try TermRowKey.withBytes(t, 0) { try cursor.get(.setRange, key: $0) } }
                guard let first, try load(first) else {
                    throw StoreError(
                        .corrupted,
                        "the keyword index counts \(listCount) postings of \(String(decoding: term, as: UTF8.self)) but its list has none")
                }
            } catch {
                cursor.close()
                throw error
            }
        } else {
            cursor = nil
            try enterRun(0)
        }
    }

    func close() { cursor?.close() }

    /// The current posting's bytes (valid until the list moves).
    var current: UnsafeRawPointer { page + index * Posting.size }

    /// Gives `visitor` the postings of the list block `entry` and returns its header, nil
    /// when the entry is not one of the term's.
    ///
    /// - Throws: `.corrupted` when the block disagrees with its key or its own header.
    @inline(__always)
    private func visitListBlock<V: PostingVisitor>(
        _ entry: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer), _ visitor: inout V
    ) throws -> PostingBlock.Header? {
        guard let first = term.withUnsafeBytes({ TermRowKey.row(entry.key, of: $0) }) else { return nil }
        guard let base = entry.value.baseAddress else {
            throw PostingBlock.damaged("an empty block of \(String(decoding: term, as: UTF8.self))")
        }
        let h = try PostingBlock.forEach(base, available: entry.value.count, &visitor)
        guard h.first == first, h.bytes == entry.value.count else {
            throw PostingBlock.damaged("a block of \(String(decoding: term, as: UTF8.self)) keyed at row \(first) starts at row \(h.first)")
        }
        return h
    }

    /// Decodes the list block `entry` when it is one of the term's; false when it is not.
    private mutating func load(_ entry: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)) throws -> Bool {
        var writer = PostingWriter(out: scratch.pointer)
        guard let h = try visitListBlock(entry, &writer) else { return false }
        page = UnsafeRawPointer(scratch.pointer)
        pageCount = h.count
        index = 0
        blocksRead += 1
        row = Posting.row(page)
        return true
    }

    /// Decodes the block of the current segment run at `runAt`.
    private mutating func loadRunBlock() throws {
        let r = runs[run]
        let h = try PostingBlock.decode(r.start + runAt, available: r.bytes - runAt, into: scratch.pointer)
        runAt += h.bytes
        page = UnsafeRawPointer(scratch.pointer)
        pageCount = h.count
        index = 0
        blocksRead += 1
        row = Posting.row(page)
    }

    /// Starts segment run `r` (or ends the list past the last one), at its first live posting.
    private mutating func enterRun(_ r: Int) throws {
        run = r
        guard r < runs.count else {
            row = .max
            return
        }
        runAt = 0
        try loadRunBlock()
        try skipDeleted()
    }

    private mutating func skipDeleted() throws {
        while run >= 0, row != .max, snapshot.isDeleted(row) { try step() }
    }

    /// Moves to the next posting.
    mutating func next() throws {
        try step()
        try skipDeleted()
    }

    private mutating func step() throws {
        index += 1
        if index < pageCount {
            row = Posting.row(current)
            return
        }
        try nextBlock()
    }

    /// Moves to the first posting of the next block (list, then runs).
    private mutating func nextBlock() throws {
        if run >= 0 {
            if runAt < runs[run].bytes { return try loadRunBlock() }
            return try enterRun(run + 1)
        }
        guard let cursor, let e = try cursor.get(.next), try load(e) else { return try enterRun(0) }
    }

    /// Gives `visitor` every live posting from the current one on — row, frequency, row
    /// length — and leaves the list exhausted. The blocks after the current one are read
    /// straight from their bytes (`PostingBlock.forEach`), not decoded into the 16-byte
    /// form first: a term-at-a-time search reads each posting once.
    ///
    /// The visitor may see rows of a damaged block before the error (see `forEach`).
    @inline(__always)
    mutating func drain<V: PostingVisitor>(_ visitor: inout V) throws {
        guard row != .max else { return }
        let checkDeleted = !snapshot.deleted.isEmpty
        for i in index..<pageCount {
            let p = page + i * Posting.size
            let r = Posting.row(p)
            if run >= 0 && checkDeleted && snapshot.isDeleted(r) { continue }
            visitor.visit(r, Posting.frequency(p), Posting.length(p))
        }
        if run < 0 {
            // The list's blocks after the current one, then the runs from the first.
            if let cursor {
                while let e = try cursor.get(.next), try visitListBlock(e, &visitor) != nil { blocksRead += 1 }
            }
            run = 0
            runAt = 0
        }
        var live = LivePostings(visitor: visitor, snapshot: snapshot)
        defer { visitor = live.visitor }
        while run < runs.count {
            let r = runs[run]
            while runAt < r.bytes {
                let h =
                    checkDeleted
                    ? try PostingBlock.forEach(r.start + runAt, available: r.bytes - runAt, &live)
                    : try PostingBlock.forEach(r.start + runAt, available: r.bytes - runAt, &live.visitor)
                runAt += h.bytes
                blocksRead += 1
            }
            run += 1
            runAt = 0
        }
        index = 0
        pageCount = 0
        row = .max
    }

    /// Moves to the first live posting whose row is at least `target`.
    mutating func seek(_ target: UInt64) throws {
        guard row < target else { return }
        if Posting.row(page + (pageCount - 1) * Posting.size) < target {
            if run < 0 {
                // Beyond this block: the block that covers the target is the term's last
                // one whose first row is at most the target (the B-tree finds the one after).
                let t = term
                func blockAtOrAfter() throws -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
                    try t.withUnsafeBytes { t in try TermRowKey.withBytes(t, target) { try cursor!.get(.setRange, key: $0) } }
                }
                let found = try blockAtOrAfter()
                let foundFirst = t.withUnsafeBytes { t in found.flatMap { TermRowKey.row($0.key, of: t) } }
                if foundFirst == target {
                    _ = try load(found!)
                } else {
                    let before = try found == nil ? cursor!.get(.last) : cursor!.get(.prev)
                    if let before, t.withUnsafeBytes({ TermRowKey.row(before.key, of: $0) }) != nil,
                        try PostingBlock.header(before.value.baseAddress!, available: before.value.count).last >= target
                    {
                        _ = try load(before)
                    } else if foundFirst != nil, let again = try blockAtOrAfter() {
                        // The block after: its rows are all above the target.
                        _ = try load(again)
                    } else {
                        // Past the list's last row: in the segments.
                        try enterRun(0)
                        return try seek(target)
                    }
                }
            } else {
                // Blocks (and runs) before the one holding the target are skipped whole,
                // reading their headers only.
                while true {
                    let r = runs[run]
                    while runAt < r.bytes {
                        let h = try PostingBlock.header(r.start + runAt, available: r.bytes - runAt)
                        if h.last >= target { break }
                        runAt += h.bytes
                    }
                    if runAt < r.bytes {
                        try loadRunBlock()
                        break
                    }
                    run += 1
                    runAt = 0
                    guard run < runs.count else {
                        row = .max
                        return
                    }
                }
            }
        }
        // Binary search within the block.
        var lo = index
        var hi = pageCount
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Posting.row(page + mid * Posting.size) < target { lo = mid + 1 } else { hi = mid }
        }
        index = lo - 1
        try next()
    }
}

/// Passes on the postings of rows not deleted from segments.
struct LivePostings<V: PostingVisitor>: PostingVisitor {
    var visitor: V
    let snapshot: KeywordSnapshot

    @inline(__always)
    mutating func visit(_ row: UInt64, _ frequency: UInt32, _ length: UInt32) {
        if !snapshot.isDeleted(row) { visitor.visit(row, frequency, length) }
    }
}

/// Adds each posting's BM25 contribution to a score accumulator indexed by row, and
/// keeps the lowest and highest row it touched.
struct BM25Accumulator: PostingVisitor {
    let scores: UnsafeMutableBufferPointer<Double>
    /// The term's weight (idf × query frequency) and the length normalization's two
    /// constants: a posting adds weight · tf / (tf + c0 + c1 · length).
    var weight = 0.0
    let c0: Double
    let c1: Double
    var lo = Int.max
    var hi = -1

    @inline(__always)
    mutating func visit(_ row: UInt64, _ frequency: UInt32, _ length: UInt32) {
        guard row < UInt64(scores.count) else { return }  // not reached: rows are below the bound
        let r = Int(truncatingIfNeeded: row)
        let tf = Double(frequency)
        scores[r] += weight * tf / (tf + c0 + c1 * Double(length))
        lo = min(lo, r)
        hi = max(hi, r)
    }
}

/// Zeroed score accumulators indexed by row, for term-at-a-time keyword searches: taken
/// for a search and given back zeroed, a few kept for the next searches (allocating and
/// zeroing one per search would cost more than the search).
final class ScoreAccumulators: @unchecked Sendable {
    static let shared = ScoreAccumulators()
    private let lock = NSLock()
    private var idle: [UnsafeMutableBufferPointer<Double>] = []

    /// Runs `body` with a zeroed accumulator of at least `rows` entries; `body` must leave
    /// it zeroed.
    func with<R>(rows: Int, _ body: (UnsafeMutableBufferPointer<Double>) throws -> R) rethrows -> R {
        var buffer = lock.withLock { () -> UnsafeMutableBufferPointer<Double>? in
            guard let i = idle.firstIndex(where: { $0.count >= rows }) else { return nil }
            return idle.remove(at: i)
        }
        if buffer == nil {
            let raw = calloc(max(rows, 1), MemoryLayout<Double>.stride)!.assumingMemoryBound(to: Double.self)
            buffer = UnsafeMutableBufferPointer(start: raw, count: max(rows, 1))
        }
        let b = buffer!
        defer {
            lock.withLock {
                idle.append(b)
                if idle.count > max(4, ProcessInfoCores.count) {
                    // Keep the largest.
                    idle.sort { $0.count > $1.count }
                    free(idle.removeLast().baseAddress)
                }
            }
        }
        return try body(b)
    }
}

/// A bounded min-heap of (score, row): the best `k` seen, a later row never displacing an
/// equal score.
struct ScoreHeap {
    let k: Int
    private(set) var items: [(score: Double, row: UInt64)] = []

    init(k: Int) {
        self.k = k
        items.reserveCapacity(min(k, 4096))
    }

    var isFull: Bool { items.count >= k }
    /// The score a new row must exceed to enter (−∞ until full).
    var threshold: Double { isFull ? items[0].score : -.infinity }

    private static func less(_ a: (score: Double, row: UInt64), _ b: (score: Double, row: UInt64)) -> Bool {
        a.score < b.score || (a.score == b.score && a.row > b.row)
    }

    mutating func push(_ score: Double, _ row: UInt64) {
        let item = (score: score, row: row)
        if items.count < k {
            items.append(item)
            items.withUnsafeMutableBufferPointer { h in
                var i = h.count - 1
                while i > 0 {
                    let p = (i - 1) / 2
                    guard Self.less(item, h[p]) else { break }
                    h[i] = h[p]
                    i = p
                }
                h[i] = item
            }
            return
        }
        guard score > items[0].score else { return }
        items.withUnsafeMutableBufferPointer { h in
            // Sift the new item down from the root, moving the hole rather than swapping.
            let n = h.count
            var i = 0
            while true {
                let l = 2 * i + 1
                guard l < n else { break }
                var m = l
                if l + 1 < n && Self.less(h[l + 1], h[l]) { m = l + 1 }
                guard Self.less(h[m], item) else { break }
                h[i] = h[m]
                i = m
            }
            h[i] = item
        }
    }

    /// Best first.
    var sorted: [(score: Double, row: UInt64)] { items.sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) } }
}

/// What one keyword search did, for the plan.
struct KeywordFigures {
    var terms = 0
    var postings = 0
    var blocksRead = 0
    var rowsScored = 0
    var phraseChecks = 0
    var termsDropped = 0
    var segments = 0
    /// Rows of the accumulator when a search ran term at a time (0: MaxScore).
    var accumulatorRows = 0

    func figures(filterMatches: Int?) -> [SearchPlan.Figure] {
        var f = [
            SearchPlan.Figure("terms", Double(terms)),
            SearchPlan.Figure("postings", Double(postings)),
            SearchPlan.Figure("blocks read", Double(blocksRead)),
            SearchPlan.Figure(SearchPlan.Figure.rowsScored, Double(rowsScored)),
        ]
        if phraseChecks > 0 { f.append(SearchPlan.Figure("phrase checks", Double(phraseChecks))) }
        if termsDropped > 0 { f.append(SearchPlan.Figure("terms dropped", Double(termsDropped))) }
        if segments > 0 { f.append(SearchPlan.Figure("segments", Double(segments))) }
        if accumulatorRows > 0 { f.append(SearchPlan.Figure("term-at-a-time rows", Double(accumulatorRows))) }
        if let filterMatches { f.append(SearchPlan.Figure(SearchPlan.Figure.filterMatches, Double(filterMatches))) }
        return f
    }
}

extension LMDBCollection {
    /// Distinct scoring terms a keyword query uses at most (each opens a cursor); the
    /// others are dropped (the plan counts them), required terms never.
    static let maxQueryTerms = 1024

    /// The collection's keyword index, or `.invalidArgument` saying how to build one.
    func requireKeywordIndex() throws -> KeywordIndex {
        guard let keywordIndex else {
            throw StoreError(
                .invalidArgument,
                "collection \"\(info.name)\" has no keyword index; build one with `quiver reindex --keyword` "
                    + "(LMDBCollection.buildKeywordIndex), or search in dense mode",
                collection: info.name)
        }
        if let reason = keywordIndex.staleReason { throw StoreError(.invalidArgument, reason, collection: info.name) }
        return keywordIndex
    }

    /// The top `k` rows of one keyword query by BM25, best first, inside `txn`.
    ///
    /// Document-at-a-time with MaxScore: terms are ordered by their score bound (idf), and
    /// once the k-th best score exceeds the bounds of the weakest terms together, those
    /// terms' postings are only probed (skipped to) for rows the others found, never
    /// walked. Required terms (`+term`, phrases) drive the walk instead, leapfrogging.
    func keywordTop(
        _ query: KeywordQuery, k: Int, rowSet: RowSet?, bm25: BM25Parameters, index: KeywordIndex, snapshot: KeywordSnapshot,
        rowBound: Int, _ txn: Transaction, figures: inout KeywordFigures
    ) throws -> [(score: Double, row: UInt64)] {
        guard !query.isEmpty else { return [] }
        let stats = try index.readStats(txn)
        let n = Double(stats.documents)
        let avgdl = stats.averageLength
        // Distinct scoring terms with their query frequency.
        let (order, weightOf, dropped) = query.scoringTerms(limit: Self.maxQueryTerms)
        figures.termsDropped += dropped
        var lists: [(list: PostingList, weight: Double)] = []
        var required: [PostingList] = []
        var excluded: [PostingList] = []
        defer {
            for l in lists { l.list.close() }
            for l in required { l.close() }
            for l in excluded { l.close() }
        }
        let requiredTerms = Set(query.must + query.phrases.flatMap(\.terms))
        for t in order {
            let bytes = Array(t.utf8)
            guard bytes.count <= KeywordIndex.maxTermBytes, let list = try PostingList(term: bytes, txn, index, snapshot)
            else {
                // A required term that no row holds: nothing matches.
                if requiredTerms.contains(t) { return [] }
                continue
            }
            let df = Double(list.count)
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            lists.append((list, idf * weightOf[t]!))
            figures.postings += list.count
        }
        figures.terms += order.count
        for t in requiredTerms {
            guard let list = try PostingList(term: Array(t.utf8), txn, index, snapshot) else { return [] }
            required.append(list)
        }
        for t in Set(query.mustNot) {
            if let list = try PostingList(term: Array(t.utf8), txn, index, snapshot) { excluded.append(list) }
        }
        guard !lists.isEmpty else { return [] }
        lists.sort { $0.weight < $1.weight }
        required.sort { $0.count < $1.count }
        let k1 = bm25.k1
        let b = bm25.b
        // tf / (tf + k1 · (1 − b + b · length / avgdl)), as tf / (tf + c0 + c1 · length).
        let c0 = k1 * (1 - b)
        let c1 = avgdl > 0 ? k1 * b / avgdl : 0
        // (BM25Accumulator adds the same expression.)
        @inline(__always) func contribution(_ p: UnsafeRawPointer, _ weight: Double) -> Double {
            let tf = Double(Posting.frequency(p))
            return weight * tf / (tf + c0 + c1 * Double(Posting.length(p)))
        }
        // Upper bounds: a term contributes less than its weight (tf / (tf + x) < 1).
        var prefix = [Double](repeating: 0, count: lists.count)
        var s = 0.0
        for i in lists.indices {
            s += lists[i].weight
            prefix[i] = s
        }
        var heap = ScoreHeap(k: k)
        let hasPhrases = !query.phrases.isEmpty || !query.excludedPhrases.isEmpty

        /// Whether `row` passes the filter, the exclusions and (last, as it reads the text)
        /// the phrases.
        func admitted(_ row: UInt64) throws -> Bool {
            if let rowSet, !rowSet.contains(row) { return false }
            for i in excluded.indices {
                try excluded[i].seek(row)
                if excluded[i].row == row { return false }
            }
            return true
        }
        func phrasesHold(_ row: UInt64) throws -> Bool {
            guard hasPhrases else { return true }
            figures.phraseChecks += 1
            guard let bytes = try records.get(txn, row) else { return false }
            let record = try RecordCodec.decode(bytes, rowID: row, collection: info.name)
            let positions = index.analyzer.termsWithPositions(index.indexedText(record.text, record.metadata))
            for p in query.phrases where !Self.contains(p, in: positions) { return false }
            for p in query.excludedPhrases where Self.contains(p, in: positions) { return false }
            return true
        }

        if !required.isEmpty {
            // Conjunctive: walk the rarest required list, leapfrogging the others.
            var candidate = required[0].row
            outer: while candidate != .max {
                for i in required.indices.dropFirst() {
                    try required[i].seek(candidate)
                    if required[i].row != candidate {
                        try required[0].seek(required[i].row)
                        candidate = required[0].row
                        continue outer
                    }
                }
                let row = candidate
                try required[0].next()
                candidate = required[0].row
                guard try admitted(row) else { continue }
                var score = 0.0
                for i in lists.indices {
                    try lists[i].list.seek(row)
                    if lists[i].list.row == row { score += contribution(lists[i].list.current, lists[i].weight) }
                }
                figures.rowsScored += 1
                if score > heap.threshold, try phrasesHold(row) { heap.push(score, row) }
            }
        } else if rowBound <= store.options.keywordAccumulatorRows,
            rowBound <= 32 * lists.reduce(0, { $0 + $1.list.count }) + 4096
        {
            // Disjunctive, term at a time: every posting of every term into an accumulator
            // indexed by row, then the rows in order. When the rows are few next to the
            // postings (a small collection, or common terms), this reads each posting once
            // in a tight loop, where MaxScore pays a cursor step, a comparison per list and
            // a heap test per row.
            figures.accumulatorRows = max(figures.accumulatorRows, rowBound)
            try ScoreAccumulators.shared.with(rows: rowBound) { acc in
                var accumulator = BM25Accumulator(scores: acc, c0: c0, c1: c1)
                defer {
                    let (lo, hi) = (accumulator.lo, accumulator.hi)
                    if hi >= lo { (acc.baseAddress! + lo).update(repeating: 0, count: hi - lo + 1) }
                }
                for i in lists.indices {
                    accumulator.weight = lists[i].weight
                    try lists[i].list.drain(&accumulator)
                }
                let (lo, hi) = (accumulator.lo, accumulator.hi)
                guard hi >= lo else { return }
                let scores = UnsafePointer(acc.baseAddress!)
                // Every contribution is positive: a row without one (0) never passes a
                // threshold of at least 0. Without filters, exclusions or phrases (every
                // row admitted), a floor sampled from the scores (`sampledFloor`) keeps
                // most rows out of the heap; when fewer than k rows pass it, the scan runs
                // again from 0, so the result is the same either way.
                let everyRowAdmitted = rowSet == nil && excluded.isEmpty && !hasPhrases
                let floor = everyRowAdmitted ? Self.sampledFloor(scores, lo: lo, hi: hi, k: k) : 0
                // The nonzero rows, counted without a branch (the plan's rows scored).
                var scored = 0
                for r in lo...hi {
                    let bits = scores[r].bitPattern << 1
                    scored &+= Int(truncatingIfNeeded: (bits | (0 &- bits)) >> 63)
                }
                func scan(from floor: Double) throws {
                    var threshold = max(heap.threshold, floor)
                    for r in lo...hi {
                        let score = scores[r]
                        guard score > threshold else { continue }
                        let row = UInt64(r)
                        if try admitted(row), try phrasesHold(row) {
                            heap.push(score, row)
                            threshold = max(heap.threshold, floor)
                        }
                    }
                }
                try scan(from: floor)
                if floor > 0 && !heap.isFull {
                    heap = ScoreHeap(k: k)
                    try scan(from: 0)
                }
                figures.rowsScored += scored
            }
        } else {
            // Disjunctive, MaxScore: lists below `essential` cannot lift a row past the
            // threshold by themselves.
            var essential = 0
            while true {
                var row = UInt64.max
                for i in essential..<lists.count where lists[i].list.row < row { row = lists[i].list.row }
                if row == .max { break }
                if try !admitted(row) {
                    for i in essential..<lists.count where lists[i].list.row == row { try lists[i].list.next() }
                    continue
                }
                var score = 0.0
                for i in essential..<lists.count where lists[i].list.row == row {
                    score += contribution(lists[i].list.current, lists[i].weight)
                    try lists[i].list.next()
                }
                var i = essential - 1
                while i >= 0 {
                    if score + prefix[i] <= heap.threshold { break }
                    try lists[i].list.seek(row)
                    if lists[i].list.row == row { score += contribution(lists[i].list.current, lists[i].weight) }
                    i -= 1
                }
                figures.rowsScored += 1
                if score > heap.threshold, try phrasesHold(row) {
                    heap.push(score, row)
                    while essential < lists.count && prefix[essential] <= heap.threshold { essential += 1 }
                }
            }
        }
        for l in lists { figures.blocksRead += l.list.blocksRead }
        return heap.sorted
    }

    /// A score below which a row is almost surely not among the best `k` of
    /// `scores[lo...hi]`: the `k / 8`-th best of every 16th row stands for about the
    /// `2k`-th best of all. 0 when the rows are too few to sample. Only an estimate: the
    /// caller scans again from 0 when fewer than `k` rows pass it.
    ///
    /// Pushing rows into the heap as the threshold rose from 0 was a tenth of a keyword
    /// query on a collection of thousands of rows (about k · ln(rows / k) pushes).
    static func sampledFloor(_ scores: UnsafePointer<Double>, lo: Int, hi: Int, k: Int) -> Double {
        let stride = 16
        let rank = k / 8
        guard rank >= 1, (hi - lo + 1) / stride >= 8 * rank else { return 0 }
        var sample = ScoreHeap(k: rank)
        var r = lo
        while r <= hi {
            let score = scores[r]
            if score > sample.threshold { sample.push(score, UInt64(r)) }
            r += stride
        }
        return sample.isFull ? max(sample.threshold, 0) : 0
    }

    /// Whether the phrase's terms occur at its offsets from some position.
    static func contains(_ phrase: KeywordQuery.Phrase, in positions: [(term: String, position: Int)]) -> Bool {
        phrase.occurs(in: positions)
    }
}
