/// How a collection stores its vectors. Recorded with the collection and checked on
/// open, like the dimension. Each encoding has a codec in the LMDB backend
/// (`VectorCodec`): an encoder, a decoder and a scoring entry.
public enum VectorEncoding: String, Sendable, Hashable, Codable, CaseIterable {
    /// 32-bit floats, read in place by BLAS (the default; the only encoding of stores
    /// written before encodings were recorded).
    case float32 = "f32"
}
