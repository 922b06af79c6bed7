/// A search's queries in double precision: the one kernel that gives hits their order and
/// their scores, and the bound on how far the float kernels that find the candidates can
/// be from it.
///
/// The scan and the gather score in float32 with whichever kernel suits the batch (Quiver's
/// SIMD kernel, sgemv, sgemm), and the kernels sum in different orders: the same vector
/// scores a few ulps differently by its place in a tile, and l2, scored as 2q·x − |x|²,
/// loses about 1e-2 in distance to cancellation at dimension 384 with norms about 10. So
/// the float scores only choose candidates (every row within `slacks` of the k-th), and
/// each candidate is scored again
/// here, the same way whatever its place: products of floats are exact in double and the
/// sum's error (below d·2⁻⁵³ relative) is far under what a float32 reader can see.
struct ExactScorer {
    let metric: Metric
    let dimension: Int
    /// `count × dimension` queries; under cosine, unit vectors normalized in double.
    let queries: [Double]
    /// The queries' Euclidean norms (1 under cosine).
    let norms: [Double]

    /// Scorer of `queries` (validated: finite, of `dimension` components, not zero under
    /// cosine).
    init(metric: Metric, dimension: Int, queries: [[Float]]) {
        self.metric = metric
        self.dimension = dimension
        var flat = [Double]()
        flat.reserveCapacity(queries.count * dimension)
        var norms = [Double]()
        for q in queries {
            let norm = q.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let scale = metric == .cosine && norm > 0 ? 1 / norm : 1
            for x in q { flat.append(Double(x) * scale) }
            norms.append(metric == .cosine ? 1 : norm)
        }
        self.queries = flat
        self.norms = norms
    }

    /// The queries as the float kernels score them, `count × dimension` (under cosine each
    /// component is its double unit query's, rounded once).
    var floatQueries: [Float] { queries.map { Float($0) } }

    /// The exact score of query `q` against `x`: q·x for dot and cosine, |q − x|² for l2.
    /// Four accumulators in a fixed order, so equal vectors score the same bits.
    func score(_ q: Int, _ x: UnsafePointer<Float>) -> Double {
        queries.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            let query = base + q * dimension
            var a0 = 0.0
            var a1 = 0.0
            var a2 = 0.0
            var a3 = 0.0
            var i = 0
            let d = dimension
            if metric == .l2 {
                while i + 4 <= d {
                    let e0 = query[i] - Double(x[i])
                    let e1 = query[i + 1] - Double(x[i + 1])
                    let e2 = query[i + 2] - Double(x[i + 2])
                    let e3 = query[i + 3] - Double(x[i + 3])
                    a0 += e0 * e0
                    a1 += e1 * e1
                    a2 += e2 * e2
                    a3 += e3 * e3
                    i += 4
                }
                while i < d {
                    let e = query[i] - Double(x[i])
                    a0 += e * e
                    i += 1
                }
            } else {
                while i + 4 <= d {
                    a0 += query[i] * Double(x[i])
                    a1 += query[i + 1] * Double(x[i + 1])
                    a2 += query[i + 2] * Double(x[i + 2])
                    a3 += query[i + 3] * Double(x[i + 3])
                    i += 4
                }
                while i < d {
                    a0 += query[i] * Double(x[i])
                    i += 1
                }
            }
            return (a0 + a1) + (a2 + a3)
        }
    }

    /// Higher is better: the exact score, negated for l2 (a squared distance).
    func rank(_ exact: Double) -> Double { metric == .l2 ? -exact : exact }

    /// The score a hit reports: the similarity, or the l2 distance.
    func reported(_ exact: Double) -> Float { Float(metric == .l2 ? exact.squareRoot() : exact) }

    /// For each query, how far below the k-th float score a row can still be among the
    /// exact top k, when no scored vector is longer than `maxNormSquared` says (the largest
    /// stored |x|² of the rows scored).
    ///
    /// Every float kernel computes a dot product of d terms, in some order, with or without
    /// FMA; its error is at most γ_d·Σ|q_i·x_i| ≤ γ_d·|q|·|x|, where γ_n = n·u/(1 − n·u) and
    /// u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). So the
    /// float score of a row is within E of its exact score, with
    /// - dot: E = γ_d·|q|·X, X the largest |x|;
    /// - cosine: one rounding more, of the unit query to float;
    /// - l2 (2q·x − |x|², |q|² left out as it ranks nothing): 2γ_d·|q|·|x| for 2q·x, γ_d·|x|²
    ///   for the stored |x|² (a float sum of squares), and one rounding of the difference:
    ///   E = γ_{d+1}·(2|q|·X + X²);
    /// and one rounding more everywhere for the exact score's own (double) error. If τ is
    /// the k-th float score, k rows score at least τ − E exactly, so a row of the exact top
    /// k scores at least τ − 2E in float: the slack is 2E. It grows with d·u, so a
    /// candidate set is the k rows plus those within about 5e-5 of the k-th score (unit
    /// vectors, d = 384): only real near-ties add rows.
    func slacks(maxNormSquared: Float) -> [Float] {
        let d = Double(dimension)
        let u = 0x1p-24
        func gamma(_ n: Double) -> Double { n * u / (1 - n * u) }
        // The stored |x|² is itself a float sum of d squares (under cosine, 1 for a vector
        // normalized in float, whose true length is within γ_{d+3} of 1).
        let x = (Double(max(0, maxNormSquared)) * (1 + gamma(2 * d + 6))).squareRoot()
        return norms.map { q in
            let e: Double
            switch metric {
            case .dot: e = gamma(d + 1) * q * x
            case .cosine: e = gamma(d + 2) * q * x
            case .l2: e = gamma(d + 2) * (2 * q * x + x * x)
            }
            let slack = Float(2 * e)
            return Double(slack) >= 2 * e ? slack : slack.nextUp
        }
    }
}
