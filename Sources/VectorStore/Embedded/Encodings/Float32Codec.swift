/// 32-bit floats, little-endian as the CPU holds them: stored vectors are read in place and
/// scored by BLAS straight from the memory map.
struct Float32Codec: VectorCodec {
    var encoding: VectorEncoding { .float32 }
    var headerCode: UInt8 { 0 }
    var isCompact: Bool { false }

    func bytesPerVector(dimension: Int) -> Int { dimension * 4 }

    func encode(_ vector: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawPointer) {
        guard let source = vector.baseAddress else { return }
        out.copyMemory(from: source, byteCount: vector.count * 4)
    }

    func decode(_ stored: UnsafeRawPointer, dimension: Int, into out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).copyMemory(from: stored, byteCount: dimension * 4)
    }

    func scoreTile(
        _ stored: UnsafeRawPointer, rows: Int, dimension: Int, queries: PreparedQueries, alpha: Float,
        scores: UnsafeMutablePointer<Float>
    ) {
        // Blocks are 16-byte aligned in the map (checked when a BlockView is made).
        BLASKernels.scoreTile(
            stored.assumingMemoryBound(to: Float.self), rows: rows, dim: dimension, queries: queries.floats,
            count: queries.count, alpha: alpha, scores: scores)
    }
}
