/// A set of row ids as a filter evaluates it: either the rows to include, or (for
/// negations) the rows to exclude from all live rows. Arrays are sorted and unique.
enum RowSet: Equatable {
    case include([UInt64])
    case exclude([UInt64])

    static let all = RowSet.exclude([])

    func contains(_ row: UInt64) -> Bool {
        switch self {
        case .include(let rows): return SortedRows.contains(rows, row)
        case .exclude(let rows): return !SortedRows.contains(rows, row)
        }
    }

    var negated: RowSet {
        switch self {
        case .include(let r): return .exclude(r)
        case .exclude(let r): return .include(r)
        }
    }

    static func and(_ a: RowSet, _ b: RowSet) -> RowSet {
        switch (a, b) {
        case (.include(let x), .include(let y)): return .include(SortedRows.intersect(x, y))
        case (.include(let x), .exclude(let y)), (.exclude(let y), .include(let x)): return .include(SortedRows.subtract(x, y))
        case (.exclude(let x), .exclude(let y)): return .exclude(SortedRows.union(x, y))
        }
    }

    static func or(_ a: RowSet, _ b: RowSet) -> RowSet {
        switch (a, b) {
        case (.include(let x), .include(let y)): return .include(SortedRows.union(x, y))
        case (.include(let x), .exclude(let y)), (.exclude(let y), .include(let x)): return .exclude(SortedRows.subtract(y, x))
        case (.exclude(let x), .exclude(let y)): return .exclude(SortedRows.intersect(x, y))
        }
    }
}

/// Operations on sorted, duplicate-free row-id arrays.
enum SortedRows {
    static func contains(_ rows: [UInt64], _ x: UInt64) -> Bool {
        var lo = 0
        var hi = rows.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if rows[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < rows.count && rows[lo] == x
    }

    static func union(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        var out = [UInt64]()
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] {
                out.append(a[i])
                i += 1
            } else if a[i] > b[j] {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
                j += 1
            }
        }
        out += a[i...]
        out += b[j...]
        return out
    }

    static func intersect(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var out = [UInt64]()
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] {
                i += 1
            } else if a[i] > b[j] {
                j += 1
            } else {
                out.append(a[i])
                i += 1
                j += 1
            }
        }
        return out
    }

    static func subtract(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        if b.isEmpty { return a }
        var out = [UInt64]()
        out.reserveCapacity(a.count)
        var j = 0
        for x in a {
            while j < b.count && b[j] < x { j += 1 }
            if j < b.count && b[j] == x { continue }
            out.append(x)
        }
        return out
    }

    /// The union of many sorted, duplicate-free arrays (a range filter's postings, one per
    /// value), merged in pairs, a balanced tree of merges: O(n log lists) sequential
    /// passes instead of sorting the concatenation.
    static func union(_ lists: [[UInt64]]) -> [UInt64] {
        var level = lists.filter { !$0.isEmpty }
        if level.isEmpty { return [] }
        while level.count > 1 {
            var next: [[UInt64]] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i + 1 < level.count {
                next.append(union(level[i], level[i + 1]))
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
        }
        return level[0]
    }
}
