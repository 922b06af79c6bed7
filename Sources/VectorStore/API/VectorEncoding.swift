/// How a collection stores its vectors. Recorded with the collection and checked on
/// open, like the dimension. Each encoding has a codec in the LMDB backend
/// (`VectorCodec`): an encoder, a decoder and a scoring entry.
///
/// The compact encodings scan fewer bytes: a search scores every vector in the compact
/// form, keeps `oversampling × k` candidates (``SearchRequest/oversampling``) and rescores
/// them exactly from a float32 copy of each vector, which the collection keeps beside its
/// blocks (so a compact collection takes more disk than an f32 one, and less memory
/// bandwidth per search). `get` returns the float32 copy. A filtered search that gathers
/// its few matching rows scores the float32 copies directly.
public enum VectorEncoding: String, Sendable, Hashable, Codable, CaseIterable {
    /// 32-bit floats, read in place by BLAS (the default; the only encoding of stores
    /// written before encodings were recorded).
    case float32 = "f32"
    /// IEEE half precision (2 bytes a component), rescored from float32. Components beyond
    /// ±65504 are refused.
    case float16 = "f16"
    /// 8-bit integers with one scale per vector (1 byte a component and 8 a vector),
    /// rescored from float32.
    case int8 = "i8"

    /// Whether searches rescore candidates from a float32 copy (f16 and int8).
    public var isCompact: Bool { self != .float32 }
}
