import CQuiverKernels

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
    /// True when the stored vectors only approximate the written ones: the collection
    /// then also keeps each vector in float32 (`Format.RescoreTable.full`), scans the
    /// compact blocks for `oversampling × k` candidates and rescores them exactly from
    /// the float32 copies.
    var isCompact: Bool { get }
    /// Bytes one stored vector of `dimension` components takes; a multiple of 4, so the
    /// block's later sections stay aligned.
    func bytesPerVector(dimension: Int) -> Int
    /// Writes `vector` (already normalized under cosine) at `out`.
    func encode(_ vector: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawPointer)
    /// Reads one stored vector of `dimension` components at `stored` into `out` (for a
    /// compact encoding, its approximation).
    func decode(_ stored: UnsafeRawPointer, dimension: Int, into out: UnsafeMutablePointer<Float>)
    /// `scores[r × count + q] = alpha · ⟨stored r, query q⟩` for `rows` consecutive stored
    /// vectors starting at `stored` and the prepared queries (for a compact encoding,
    /// approximately).
    func scoreTile(
        _ stored: UnsafeRawPointer, rows: Int, dimension: Int, queries: PreparedQueries, alpha: Float,
        scores: UnsafeMutablePointer<Float>)
}

extension VectorEncoding {
    /// The LMDB backend's codec for this encoding.
    var codec: any VectorCodec {
        switch self {
        case .float32: Float32Codec()
        case .float16: Float16Codec()
        case .int8: Int8Codec()
        }
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

/// A search's queries as the kernels read them, made once per search: the float queries
/// (`count × dimension`), and for the int8 kernel their 6-bit quantization and scales.
///
/// `@unchecked Sendable`: the buffers are written only by `init` and read-only after, by
/// the scan's workers; they are freed in `deinit`, after the last reader.
final class PreparedQueries: @unchecked Sendable {
    let count: Int
    let dimension: Int
    let floats: UnsafeMutablePointer<Float>
    /// `count × dimension` codes, `round(q / s) + 32` (int8 collections only).
    let codes: UnsafeMutablePointer<UInt8>?
    /// The scale `s` of each quantized query.
    let scales: UnsafeMutablePointer<Float>?

    init(_ queries: [Float], count: Int, dimension: Int, quantize: Bool) {
        self.count = count
        self.dimension = dimension
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: max(1, queries.count))
        queries.withUnsafeBufferPointer { if let base = $0.baseAddress { floats.initialize(from: base, count: queries.count) } }
        self.floats = floats
        if quantize {
            let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, count * dimension))
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            for q in 0..<count {
                scales[q] = quiver_quantize_query_u6(floats + q * dimension, dimension, codes + q * dimension)
            }
            self.codes = codes
            self.scales = scales
        } else {
            codes = nil
            scales = nil
        }
    }

    deinit {
        floats.deallocate()
        codes?.deallocate()
        scales?.deallocate()
    }
}

/// Which kernels the compact codecs run: the instruction set the CPU has, or (for tests
/// that compare them) a narrower one.
enum CompactKernels: Sendable {
    /// The best the CPU has: AVX-512 VNNI for int8 scores, AVX2+FMA+F16C, or plain C.
    case best
    /// At most AVX2 (the AVX2 int8 kernels on a CPU with VNNI).
    case avx2
    /// Plain C, on every CPU.
    case portable

    /// Whether the AVX2+FMA+F16C paths can run here.
    static let simdAvailable = quiver_compact_simd_available() != 0
    /// Whether the AVX-512 VNNI int8 path can run here.
    static let vnniAvailable = quiver_compact_vnni_available() != 0

    /// The C kernels' argument.
    var code: Int32 {
        switch self {
        case .best: Int32(QUIVER_KERNELS_BEST)
        case .avx2: Int32(QUIVER_KERNELS_AVX2)
        case .portable: Int32(QUIVER_KERNELS_PORTABLE)
        }
    }
}

extension VectorEncoding {
    /// The instruction set the f16 and int8 kernels run with on this CPU: "avx512vnni+avx2+fma+f16c"
    /// (int8 scores with VNNI), "avx2+fma+f16c", or "portable" (plain C) where those are missing.
    public static var compactKernelInstructionSet: String {
        CompactKernels.vnniAvailable ? "avx512vnni+avx2+fma+f16c" : CompactKernels.simdAvailable ? "avx2+fma+f16c" : "portable"
    }

    /// Bytes one vector of `dimension` components takes in the embedded store's blocks
    /// (what a scan reads; a compact encoding's float32 copy is stored besides).
    public func storedBytes(dimension: Int) -> Int { codec.bytesPerVector(dimension: dimension) }
}
