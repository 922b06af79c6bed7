import CQuiverKernels

/// IEEE half precision (F16C's round to nearest even): half the bytes of f32, about three
/// significant decimal digits, a range of ±65504 (larger components are refused when
/// written). Scored by a fused convert-and-multiply kernel for one query; a batch converts
/// a tile to floats and hands it to the f32 kernels, whose cost then dominates.
struct Float16Codec: VectorCodec {
    var encoding: VectorEncoding { .float16 }
    var headerCode: UInt8 { 1 }
    var isCompact: Bool { true }
    /// The instruction set the kernels may use (narrower ones for tests).
    var kernels = CompactKernels.best
    /// The largest finite half: larger components are refused.
    static let largest: Float = 65504

    func bytesPerVector(dimension: Int) -> Int { (dimension * 2 + 3) & ~3 }

    func encode(_ vector: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawPointer) {
        guard let source = vector.baseAddress else { return }
        let bytes = bytesPerVector(dimension: vector.count)
        quiver_f32_to_f16(source, out.assumingMemoryBound(to: UInt16.self), vector.count, kernels.code)
        if bytes > vector.count * 2 { (out + vector.count * 2).initializeMemory(as: UInt8.self, repeating: 0, count: 2) }
    }

    func decode(_ stored: UnsafeRawPointer, dimension: Int, into out: UnsafeMutablePointer<Float>) {
        quiver_f16_to_f32(stored.assumingMemoryBound(to: UInt16.self), out, dimension, kernels.code)
    }

    func scoreTile(
        _ stored: UnsafeRawPointer, rows: Int, dimension: Int, queries: PreparedQueries, alpha: Float,
        scores: UnsafeMutablePointer<Float>
    ) {
        let stride = bytesPerVector(dimension: dimension)
        if queries.count <= 4 {
            quiver_score_f16(stored, stride, rows, dimension, queries.floats, queries.count, alpha, scores, kernels.code)
            return
        }
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: rows * dimension)
        defer { tile.deallocate() }
        for r in 0..<rows { decode(stored + r * stride, dimension: dimension, into: tile + r * dimension) }
        BLASKernels.scoreTile(tile, rows: rows, dim: dimension, queries: queries.floats, count: queries.count, alpha: alpha, scores: scores)
    }
}

/// 8-bit integers with one scale per vector (symmetric: s = max|x| / 127, components
/// round(x / s)), a quarter of f32's bytes plus 8 per vector (the scale and the sum of the
/// components). Scored in integers against queries quantized to 6 bits, so the scores
/// only choose candidates: a search keeps `oversampling × k` of them and rescores those
/// from the float32 copies.
struct Int8Codec: VectorCodec {
    var encoding: VectorEncoding { .int8 }
    var headerCode: UInt8 { 2 }
    var isCompact: Bool { true }
    /// The instruction set the kernels may use (narrower ones for tests).
    var kernels = CompactKernels.best

    func bytesPerVector(dimension: Int) -> Int { (Int(QUIVER_I8_HEADER) + dimension + 3) & ~3 }

    func encode(_ vector: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawPointer) {
        guard let source = vector.baseAddress else { return }
        let used = Int(QUIVER_I8_HEADER) + vector.count
        quiver_quantize_i8(source, vector.count, out, kernels.code)
        let bytes = bytesPerVector(dimension: vector.count)
        if bytes > used { (out + used).initializeMemory(as: UInt8.self, repeating: 0, count: bytes - used) }
    }

    func decode(_ stored: UnsafeRawPointer, dimension: Int, into out: UnsafeMutablePointer<Float>) {
        let scale = stored.loadUnaligned(as: Float.self)
        let codes = (stored + Int(QUIVER_I8_HEADER)).assumingMemoryBound(to: Int8.self)
        for i in 0..<dimension { out[i] = Float(codes[i]) * scale }
    }

    func scoreTile(
        _ stored: UnsafeRawPointer, rows: Int, dimension: Int, queries: PreparedQueries, alpha: Float,
        scores: UnsafeMutablePointer<Float>
    ) {
        guard let codes = queries.codes, let scales = queries.scales else {
            preconditionFailure("int8 scoring needs quantized queries")
        }
        quiver_score_i8(
            stored, bytesPerVector(dimension: dimension), rows, dimension, codes, scales, queries.count, alpha, scores,
            kernels.code)
    }
}
