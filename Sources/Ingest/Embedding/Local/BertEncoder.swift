import CQuiverKernels
import VectorStore

/// The shapes of all-MiniLM-L6-v2.
struct BertShape: Sendable {
    let hidden = 384
    let layers = 6
    let heads = 12
    let headSize = 32
    let intermediate = 1536
    let vocabulary = 30522
    let positions = 512
    /// Positions the model reads (its tokenizer config says 128; the model card and
    /// sentence-transformers use 256).
    let maxLength = 256
    let layerNormEpsilon: Float = 1e-12

    /// Multiply-adds × 2 of one sequence of `length` tokens: per layer and token, the Q/K/V,
    /// output and two FFN projections (2 · 384 · (3 · 384 + 384 + 2 · 1536)), plus the
    /// attention scores and their weighted sum (2 · 2 · length · 384). Element-wise work
    /// (bias, GELU, softmax, LayerNorm, pooling) is not counted.
    func flops(length: Int) -> Double {
        let perToken = 2 * hidden * (3 * hidden + hidden + 2 * intermediate) + 4 * length * hidden
        return Double(layers * length * perToken)
    }
}

/// Pointers to the weights of one encoder layer. Linear weights are `[out, in]`
/// row-major, so y = x · Wᵀ + b.
struct BertLayerWeights: @unchecked Sendable {
    // @unchecked: pointers into memory the LocalModel owns and never writes after loading.
    /// Query, key and value weights stacked: [3 · 384, 384].
    let qkvWeight: UnsafePointer<Float>
    /// [3 · 384].
    let qkvBias: UnsafePointer<Float>
    let outputWeight: UnsafePointer<Float>
    let outputBias: UnsafePointer<Float>
    let attentionNormWeight: UnsafePointer<Float>
    let attentionNormBias: UnsafePointer<Float>
    let upWeight: UnsafePointer<Float>
    let upBias: UnsafePointer<Float>
    let downWeight: UnsafePointer<Float>
    let downBias: UnsafePointer<Float>
    let outputNormWeight: UnsafePointer<Float>
    let outputNormBias: UnsafePointer<Float>
}

/// Pointers to all the model's weights.
struct BertWeights: @unchecked Sendable {
    // @unchecked: as BertLayerWeights.
    let wordEmbeddings: UnsafePointer<Float>
    let positionEmbeddings: UnsafePointer<Float>
    let tokenTypeEmbeddings: UnsafePointer<Float>
    let embeddingNormWeight: UnsafePointer<Float>
    let embeddingNormBias: UnsafePointer<Float>
    let layers: [BertLayerWeights]

    /// Reads every tensor (checking names and shapes) and stacks each layer's Q, K and V
    /// into one matrix so one sgemm computes all three; returns the buffers it allocated.
    static func load(_ file: SafeTensorsFile, shape: BertShape) throws -> (BertWeights, [UnsafeMutablePointer<Float>]) {
        let h = shape.hidden
        func t(_ name: String, _ dims: [Int]) throws -> UnsafePointer<Float> {
            let buffer = try file.float32(name, shape: dims)
            guard let base = buffer.baseAddress else {
                throw IngestError(.badModelFile, "tensor \"\(name)\" in \(file.path) is empty")
            }
            return base
        }
        var owned: [UnsafeMutablePointer<Float>] = []
        var layers: [BertLayerWeights] = []
        do {
            for l in 0..<shape.layers {
                let p = "encoder.layer.\(l)."
                let qkv = UnsafeMutablePointer<Float>.allocate(capacity: 3 * h * h)
                owned.append(qkv)
                let qkvBias = UnsafeMutablePointer<Float>.allocate(capacity: 3 * h)
                owned.append(qkvBias)
                for (k, part) in ["query", "key", "value"].enumerated() {
                    let w = try t(p + "attention.self.\(part).weight", [h, h])
                    let b = try t(p + "attention.self.\(part).bias", [h])
                    (qkv + k * h * h).update(from: w, count: h * h)
                    (qkvBias + k * h).update(from: b, count: h)
                }
                layers.append(
                    BertLayerWeights(
                        qkvWeight: UnsafePointer(qkv),
                        qkvBias: UnsafePointer(qkvBias),
                        outputWeight: try t(p + "attention.output.dense.weight", [h, h]),
                        outputBias: try t(p + "attention.output.dense.bias", [h]),
                        attentionNormWeight: try t(p + "attention.output.LayerNorm.weight", [h]),
                        attentionNormBias: try t(p + "attention.output.LayerNorm.bias", [h]),
                        upWeight: try t(p + "intermediate.dense.weight", [shape.intermediate, h]),
                        upBias: try t(p + "intermediate.dense.bias", [shape.intermediate]),
                        downWeight: try t(p + "output.dense.weight", [h, shape.intermediate]),
                        downBias: try t(p + "output.dense.bias", [h]),
                        outputNormWeight: try t(p + "output.LayerNorm.weight", [h]),
                        outputNormBias: try t(p + "output.LayerNorm.bias", [h])))
            }
            let weights = BertWeights(
                wordEmbeddings: try t("embeddings.word_embeddings.weight", [shape.vocabulary, h]),
                positionEmbeddings: try t("embeddings.position_embeddings.weight", [shape.positions, h]),
                tokenTypeEmbeddings: try t("embeddings.token_type_embeddings.weight", [2, h]),
                embeddingNormWeight: try t("embeddings.LayerNorm.weight", [h]),
                embeddingNormBias: try t("embeddings.LayerNorm.bias", [h]),
                layers: layers)
            return (weights, owned)
        } catch {
            for buffer in owned { buffer.deallocate() }
            throw error
        }
    }
}

/// Runs the encoder over sequences packed back to back (no padding: every row is a real
/// token; attention runs per sequence over its own rows, which is what a padding mask
/// computes), in passes of at most `maxRows` tokens, with scratch buffers sized once per
/// call. Not thread-safe: one encoder per thread.
struct BertEncoder {
    let weights: BertWeights
    let shape: BertShape
    /// Most tokens per pass: bounds the scratch memory (about 15 KB per row).
    static let maxRows = 1024

    /// Embeds `sequences` (input ids with [CLS]/[SEP]), writing sequence k's unit vector to
    /// row `rows[k]` of `output` (rows of 384 floats).
    /// `observe(layer, states)`, when given, sees the hidden states after the embeddings
    /// (layer 0) and after each encoder layer.
    func encode(
        _ sequences: [[Int32]], rows: [Int], into output: UnsafeMutablePointer<Float>,
        observe: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil
    ) {
        guard !sequences.isEmpty else { return }
        let longest = sequences.map(\.count).max() ?? 1
        let capacity = max(Self.maxRows, longest)
        let scratch = Scratch(rows: capacity, shape: shape, longest: longest)
        defer { scratch.deallocate() }
        var first = 0
        while first < sequences.count {
            var end = first
            var tokens = 0
            while end < sequences.count && tokens + sequences[end].count <= capacity {
                tokens += sequences[end].count
                end += 1
            }
            pass(sequences[first..<end], rows: rows[first..<end], scratch: scratch, output: output, observe: observe)
            first = end
        }
    }

    /// The scratch matrices of one pass.
    private struct Scratch {
        let x: UnsafeMutablePointer<Float>  // [rows, 384]: the hidden states
        let qkv: UnsafeMutablePointer<Float>  // [rows, 1152]
        let context: UnsafeMutablePointer<Float>  // [rows, 384]
        let projected: UnsafeMutablePointer<Float>  // [rows, 384]
        let inner: UnsafeMutablePointer<Float>  // [rows, 1536]
        let scores: UnsafeMutablePointer<Float>  // [longest, longest]

        init(rows: Int, shape: BertShape, longest: Int) {
            x = .allocate(capacity: rows * shape.hidden)
            qkv = .allocate(capacity: rows * 3 * shape.hidden)
            context = .allocate(capacity: rows * shape.hidden)
            projected = .allocate(capacity: rows * shape.hidden)
            inner = .allocate(capacity: rows * shape.intermediate)
            scores = .allocate(capacity: longest * longest)
        }

        func deallocate() {
            for p in [x, qkv, context, projected, inner, scores] { p.deallocate() }
        }
    }

    private func pass(
        _ sequences: ArraySlice<[Int32]>, rows: ArraySlice<Int>, scratch s: Scratch, output: UnsafeMutablePointer<Float>,
        observe: ((Int, UnsafeBufferPointer<Float>) -> Void)?
    ) {
        let h = shape.hidden
        let w = weights
        let m = sequences.reduce(0) { $0 + $1.count }
        var offsets: [Int] = []
        offsets.reserveCapacity(sequences.count)

        // Embeddings: word + position + token type 0, then LayerNorm.
        var row = 0
        for ids in sequences {
            offsets.append(row)
            precondition(ids.count <= shape.maxLength, "a sequence of \(ids.count) ids is longer than the model's window")
            for (position, id) in ids.enumerated() {
                precondition(id >= 0 && Int(id) < shape.vocabulary, "token id \(id) is outside the vocabulary")
                let dst = s.x + (row + position) * h
                let word = w.wordEmbeddings + Int(id) * h
                let pos = w.positionEmbeddings + position * h
                for c in 0..<h { dst[c] = word[c] + pos[c] + w.tokenTypeEmbeddings[c] }
            }
            row += ids.count
        }
        quiver_layer_norm(s.x, s.x, nil, nil, w.embeddingNormWeight, w.embeddingNormBias, m, h, shape.layerNormEpsilon)
        observe?(0, UnsafeBufferPointer(start: s.x, count: m * h))

        for (index, layer) in w.layers.enumerated() {
            // Q, K, V for every token at once.
            gemm(m, 3 * h, h, s.x, layer.qkvWeight, s.qkv)
            quiver_add_bias(s.qkv, layer.qkvBias, m, 3 * h, 3 * h)
            attention(sequences, offsets: offsets, scratch: s)
            // Output projection, residual, LayerNorm.
            gemm(m, h, h, s.context, layer.outputWeight, s.projected)
            quiver_layer_norm(
                s.x, s.projected, layer.outputBias, s.x, layer.attentionNormWeight, layer.attentionNormBias, m, h,
                shape.layerNormEpsilon)
            // Feed-forward with exact GELU, residual, LayerNorm.
            gemm(m, shape.intermediate, h, s.x, layer.upWeight, s.inner)
            quiver_bias_gelu(s.inner, layer.upBias, m, shape.intermediate)
            gemm(m, h, shape.intermediate, s.inner, layer.downWeight, s.projected)
            quiver_layer_norm(
                s.x, s.projected, layer.downBias, s.x, layer.outputNormWeight, layer.outputNormBias, m, h, shape.layerNormEpsilon)
            observe?(index + 1, UnsafeBufferPointer(start: s.x, count: m * h))
        }

        // Mean over each sequence's tokens, then L2 normalization.
        for (k, ids) in sequences.enumerated() {
            let dst = output + rows[rows.startIndex + k] * h
            dst.update(repeating: 0, count: h)
            let base = s.x + offsets[k] * h
            for t in 0..<ids.count {
                let src = base + t * h
                for c in 0..<h { dst[c] += src[c] }
            }
            var norm: Float = 0
            let scale = 1 / Float(ids.count)
            for c in 0..<h {
                dst[c] *= scale
                norm += dst[c] * dst[c]
            }
            let inverse = 1 / max(norm.squareRoot(), 1e-12)
            for c in 0..<h { dst[c] *= inverse }
        }
    }

    /// Scaled dot-product attention per sequence and head, on each sequence's own rows.
    private func attention(_ sequences: ArraySlice<[Int32]>, offsets: [Int], scratch s: Scratch) {
        let h = shape.hidden
        let d = shape.headSize
        let ld = 3 * h
        let scale = 1 / Float(d).squareRoot()
        for (k, ids) in sequences.enumerated() {
            let n = ids.count
            for head in 0..<shape.heads {
                let q = s.qkv + offsets[k] * ld + head * d
                let key = q + h
                let value = q + 2 * h
                // scores = Q · Kᵀ, softmax(scale · scores) by row, context = P · V.
                BLAS.sgemm(transposeB: true, m: n, n: n, k: d, a: q, lda: ld, b: key, ldb: ld, c: s.scores, ldc: n)
                quiver_softmax_rows(s.scores, n, n, n, scale)
                BLAS.sgemm(
                    transposeB: false, m: n, n: d, k: n, a: s.scores, lda: n, b: value, ldb: ld,
                    c: s.context + offsets[k] * h + head * d, ldc: h)
            }
        }
    }

    /// c[m, n] = a[m, k] · b[n, k]ᵀ (weights stored [out, in]).
    @inline(__always)
    private func gemm(
        _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
    ) {
        BLAS.sgemm(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: c, ldc: n)
    }
}
