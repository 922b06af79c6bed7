/// Bounded selection of the k best (score, row) pairs, higher score first, plus every
/// row within `slack` below the k-th score.
///
/// The float kernels' scores are off by up to the kernel's rounding error, and by a
/// different amount for each row (sgemm rounds a row by its place in the tile), so the
/// true top k may be any rows within twice that error of the k-th float score. Those rows
/// are kept aside in `near` and rescored exactly once the scan is done (`ExactScorer`).
/// With a slack of zero, `near` holds the rows tied with the k-th score, so that ties can
/// be broken by record id (which needs the ids, resolved later).
///
/// Written by hand rather than with swift-collections' `Heap`: the hot loop is a single
/// compare against `threshold`.
struct TopK {
    struct Entry {
        var score: Float
        /// Where the row's vector is: the index of its block among the search's
        /// `BlockView`s, and its slot in the block.
        var view: UInt32
        var row: UInt64
        var slot: UInt32
    }

    let k: Int
    /// How far below the k-th score a row is still a candidate.
    let slack: Float
    private(set) var heap: [Entry] = []  // min-heap on score
    /// Entries outside the heap that scored at least `threshold` when they were added. Some
    /// may since have fallen below it: they are pruned whenever `near` reaches `pruneAt`,
    /// so at most as many stale entries as were still within the slack at the last pruning
    /// (or 64) are kept. No bound on the live ones: every row ties for a zero query.
    private(set) var near: [Entry] = []
    /// A score below this cannot be a candidate: the k-th score less the slack.
    private(set) var threshold: Float = -.infinity
    /// `near`'s size that triggers pruning: twice what was left after the last pruning
    /// (at least 64 and k), so each pruning is paid for by as many appends.
    private var pruneAt: Int

    init(k: Int, slack: Float = 0) {
        self.k = k
        self.slack = slack
        pruneAt = max(64, k)
        // Not k itself: k is the caller's and may be far above what the collection holds
        // (a k of 2,000,000,000 would reserve 48 GB).
        heap.reserveCapacity(min(k, 4096))
    }

    @inline(__always)
    mutating func push(_ entry: Entry) {
        if heap.count < k {
            heap.append(entry)
            siftUp(heap.count - 1)
            if heap.count == k { threshold = lowered(heap[0].score) }
            return
        }
        guard entry.score >= threshold else { return }
        let top = heap[0]
        if entry.score > top.score {
            heap[0] = entry
            siftDown(0)
            if heap[0].score != top.score { threshold = lowered(heap[0].score) }
            if top.score >= threshold { append(top) }
        } else {
            append(entry)
        }
    }

    mutating func merge(_ other: TopK) {
        for e in other.heap { push(e) }
        for e in other.near { push(e) }
    }

    /// The heap plus the entries within the slack of the k-th score, in no order.
    func candidates() -> [Entry] {
        heap + near.filter { $0.score >= threshold }
    }

    /// `score - slack`, rounded down so that no row within the slack is lost to rounding.
    @inline(__always)
    private func lowered(_ score: Float) -> Float {
        slack == 0 ? score : (score - slack).nextDown
    }

    @inline(__always)
    private mutating func append(_ entry: Entry) {
        near.append(entry)
        if near.count >= pruneAt {
            let threshold = threshold
            near.removeAll { $0.score < threshold }
            pruneAt = max(64, k, 2 * near.count)
        }
    }

    private mutating func siftUp(_ i: Int) {
        // On the buffer: one uniqueness check per sift, not one per swap.
        heap.withUnsafeMutableBufferPointer { h in
            var child = i
            let moving = h[child]
            while child > 0 {
                let parent = (child - 1) / 2
                guard moving.score < h[parent].score else { break }
                h[child] = h[parent]
                child = parent
            }
            h[child] = moving
        }
    }

    private mutating func siftDown(_ i: Int) {
        heap.withUnsafeMutableBufferPointer { h in
            var parent = i
            let n = h.count
            let moving = h[parent]
            while true {
                let l = 2 * parent + 1
                if l >= n { break }
                var m = l
                if l + 1 < n && h[l + 1].score < h[l].score { m = l + 1 }
                guard h[m].score < moving.score else { break }
                h[parent] = h[m]
                parent = m
            }
            h[parent] = moving
        }
    }
}
