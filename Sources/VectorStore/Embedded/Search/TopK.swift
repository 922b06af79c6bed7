/// Bounded selection of the k best (score, row) pairs, higher score first.
///
/// Written by hand rather than with swift-collections' `Heap`: the hot loop is a single
/// compare against `threshold`, and rows tied with the k-th score are kept aside so the
/// final order can break ties by record id (which needs the ids, resolved later).
struct TopK {
    struct Entry {
        var score: Float
        var row: UInt64
    }

    let k: Int
    private(set) var heap: [Entry] = []  // min-heap on score
    private(set) var ties: [Entry] = []  // entries whose score equals heap[0].score, evicted
    /// A score below this cannot enter.
    private(set) var threshold: Float = -.infinity

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    @inline(__always)
    mutating func push(_ score: Float, _ row: UInt64) {
        if heap.count < k {
            heap.append(Entry(score: score, row: row))
            siftUp(heap.count - 1)
            if heap.count == k { threshold = heap[0].score }
            return
        }
        let top = heap[0]
        if score > top.score {
            heap[0] = Entry(score: score, row: row)
            siftDown(0)
            let newMin = heap[0].score
            if newMin == top.score {
                ties.append(top)
            } else if !ties.isEmpty {
                ties.removeAll(keepingCapacity: true)
            }
            threshold = newMin
        } else if score == top.score {
            ties.append(Entry(score: score, row: row))
        }
    }

    mutating func merge(_ other: TopK) {
        for e in other.heap { push(e.score, e.row) }
        for e in other.ties { push(e.score, e.row) }
    }

    /// Candidates best first: the heap plus entries tied with the k-th score.
    func candidates() -> [Entry] {
        (heap + ties).sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
    }

    private mutating func siftUp(_ i: Int) {
        var child = i
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[child].score < heap[parent].score {
                heap.swapAt(child, parent)
                child = parent
            } else {
                return
            }
        }
    }

    private mutating func siftDown(_ i: Int) {
        var parent = i
        let n = heap.count
        while true {
            let l = 2 * parent + 1
            if l >= n { return }
            var m = l
            if l + 1 < n && heap[l + 1].score < heap[l].score { m = l + 1 }
            if heap[m].score < heap[parent].score {
                heap.swapAt(m, parent)
                parent = m
            } else {
                return
            }
        }
    }
}
