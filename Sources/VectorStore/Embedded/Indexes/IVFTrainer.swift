import Foundation

/// k-means for the IVF coarse quantizer: random distinct sample points as the initial
/// centroids, then Lloyd iterations whose assignment step is an sgemm
/// (`IVFCentroids.assign`) over the sample, split over threads. Under cosine the centroids
/// are renormalized after each update (spherical k-means). An empty list is given a
/// sample point of the largest list, nudged, so every list ends with members.
///
/// Hand-written: no library on this machine offers k-means over Swift arrays; the heavy
/// part is the sgemm, which is OpenBLAS's.
struct IVFTrainer {
    let dimension: Int
    let lists: Int
    /// Nearest by L2 (else by inner product).
    let l2: Bool
    /// Renormalize centroids to unit length (cosine).
    let spherical: Bool
    var iterations = 10
    var seed: UInt64 = 0x5157_4956_4631

    /// Trains on `count` sample vectors (`count × dimension`); `count` must be at least `lists`.
    func train(_ sample: [Float], count: Int, generation: UInt32, progress: ((Int, Int) -> Void)? = nil) -> IVFCentroids {
        var rng = SplitMix64(seed: seed)
        var picks = Array(0..<count)
        for i in 0..<lists {
            let j = i + Int(rng.next() % UInt64(count - i))
            picks.swapAt(i, j)
        }
        var centroids = [Float](repeating: 0, count: lists * dimension)
        for c in 0..<lists {
            for j in 0..<dimension { centroids[c * dimension + j] = sample[picks[c] * dimension + j] }
        }
        if spherical { Self.normalize(&centroids, dimension: dimension) }
        for iteration in 0..<iterations {
            let model = IVFCentroids(generation: generation, dimension: dimension, l2: l2, centroids: centroids)
            let assignment = Self.assignConcurrently(model, sample, count: count)
            var sums = [Double](repeating: 0, count: lists * dimension)
            var sizes = [Int](repeating: 0, count: lists)
            for r in 0..<count {
                let c = Int(assignment[r])
                sizes[c] += 1
                for j in 0..<dimension { sums[c * dimension + j] += Double(sample[r * dimension + j]) }
            }
            for c in 0..<lists where sizes[c] > 0 {
                for j in 0..<dimension { centroids[c * dimension + j] = Float(sums[c * dimension + j] / Double(sizes[c])) }
            }
            // Empty lists: split the largest one (a member of it, nudged).
            for c in 0..<lists where sizes[c] == 0 {
                guard let largest = sizes.indices.max(by: { sizes[$0] < sizes[$1] }), sizes[largest] > 1 else { break }
                let members = (0..<count).filter { assignment[$0] == UInt32(largest) }
                let r = members[Int(rng.next() % UInt64(members.count))]
                for j in 0..<dimension {
                    let nudge = 1 + (Float(rng.next() % 1000) / 1000 - 0.5) * 1e-3
                    centroids[c * dimension + j] = sample[r * dimension + j] * nudge
                }
                sizes[c] = 1
                sizes[largest] -= 1
            }
            if spherical { Self.normalize(&centroids, dimension: dimension) }
            progress?(iteration + 1, iterations)
        }
        return IVFCentroids(generation: generation, dimension: dimension, l2: l2, centroids: centroids)
    }

    /// The lists of `count` vectors, in tiles split over the cores.
    static func assignConcurrently(_ model: IVFCentroids, _ vectors: [Float], count: Int) -> [UInt32] {
        let workers = max(1, min(ProcessInfoCores.count, count / IVFCentroids.tileRows))
        guard workers > 1 else { return vectors.withUnsafeBufferPointer { model.assign($0.baseAddress!, rows: count) } }
        let out = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: count)
        defer { out.deallocate() }
        let job = AssignJob(model: model, vectors: vectors, count: count, workers: workers, out: out)
        DispatchQueue.concurrentPerform(iterations: workers) { job.run($0) }
        return Array(out)
    }

    static func normalize(_ v: inout [Float], dimension: Int) {
        for c in 0..<v.count / dimension {
            var s: Float = 0
            for j in 0..<dimension { s += v[c * dimension + j] * v[c * dimension + j] }
            guard s > 0 else { continue }
            let inv = 1 / s.squareRoot()
            for j in 0..<dimension { v[c * dimension + j] *= inv }
        }
    }
}

/// One parallel assignment: each worker fills its own contiguous range of `out`.
///
/// `@unchecked Sendable`: `out` is written at disjoint ranges and read after
/// `concurrentPerform` returns; the rest is immutable.
private struct AssignJob: @unchecked Sendable {
    let model: IVFCentroids
    let vectors: [Float]
    let count: Int
    let workers: Int
    let out: UnsafeMutableBufferPointer<UInt32>

    func run(_ w: Int) {
        let lo = count * w / workers
        let hi = count * (w + 1) / workers
        guard hi > lo else { return }
        let lists = vectors.withUnsafeBufferPointer { model.assign($0.baseAddress! + lo * model.dimension, rows: hi - lo) }
        for i in 0..<lists.count { out[lo + i] = lists[i] }
    }
}

/// A small seeded generator (SplitMix64): reproducible training without a syscall per
/// number.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
