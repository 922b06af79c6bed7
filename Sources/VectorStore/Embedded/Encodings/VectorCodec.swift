/// How one `VectorEncoding` is laid out in a block, written, read back and scored. Every
/// path that touches stored vectors (write, merge, get, scan, gather) goes through the
/// collection's codec, so a compact encoding (f16, int8) is one more conformance, in the
/// manner of arroy's `VectorCodec`.
protocol VectorCodec: Sendable {
    /// The encoding this codec implements.
    var encoding: VectorEncoding { get }
    /// The code stored in a block header (offset 12). f32 is 0: blocks written before
    /// encodings were recorded have zeros there.
    var headerCode: UInt8 { get }
    /// Bytes one stored vector of `dimension` components takes; a multiple of 4, so the
    /// block's later sections stay aligned.
    func bytesPerVector(dimension: Int) -> Int
    /// Writes `vector` (already normalized under cosine) at `out`.
    func encode(_ vector: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawPointer)
    /// Reads one stored vector of `dimension` components at `stored` into `out`.
    func decode(_ stored: UnsafeRawPointer, dimension: Int, into out: UnsafeMutablePointer<Float>)
    /// `scores[r × count + q] = alpha · ⟨stored r, query q⟩` for `rows` consecutive stored
    /// vectors starting at `stored` and `count` float queries of `dimension` components.
    func scoreTile(
        _ stored: UnsafeRawPointer, rows: Int, dimension: Int, queries: UnsafePointer<Float>, count: Int, alpha: Float,
        scores: UnsafeMutablePointer<Float>)
}

extension VectorEncoding {
    /// The LMDB backend's codec for this encoding.
    var codec: any VectorCodec {
        switch self {
        case .float32: Float32Codec()
        }
    }

    /// The encoding whose codec stores `code` in block headers, if any.
    static func fromHeaderCode(_ code: UInt8) -> VectorEncoding? {
        allCases.first { $0.codec.headerCode == code }
    }
}

extension VectorCodec {
    /// One stored vector as floats.
    func decode(_ stored: UnsafeRawPointer, dimension: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: dimension) { buffer, count in
            if let base = buffer.baseAddress { decode(stored, dimension: dimension, into: base) }
            count = dimension
        }
    }
}
