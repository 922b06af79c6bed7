import Dispatch
import Foundation

/// A deterministic, offline embedder with no model: signed feature hashing of words, word
/// bigrams and character trigrams, with sublinear term weighting, L2-normalized.
///
/// It is **lexical, not semantic**: texts sharing words and word pieces come out close;
/// synonyms and paraphrases do not. It makes tests and offline use possible; use a real
/// model (local or HTTP) for semantic search. Output depends only on the text (lowercased
/// with Swift's Unicode tables) and the settings, never on the process or machine.
///
/// ```swift
/// let embedder = HashingEmbedder(dimension: 384)
/// let vectors = try embedder.embed(["a cat sat", "the cat sat"])
/// ```
public struct HashingEmbedder: Embedder {
    /// Output dimension.
    public let outputDimension: Int
    /// Weight of a word (unigram) feature.
    public let wordWeight: Float
    /// Weight of a word-bigram feature.
    public let bigramWeight: Float
    /// Weight of a character-trigram feature (of a word with `<` `>` boundary marks).
    public let trigramWeight: Float

    /// Creates a hashing embedder.
    ///
    /// - Precondition: `dimension` is at least 8.
    public init(dimension: Int = 384, wordWeight: Float = 1, bigramWeight: Float = 0.7, trigramWeight: Float = 0.35) {
        precondition(dimension >= 8, "HashingEmbedder needs at least 8 dimensions")
        outputDimension = dimension
        self.wordWeight = wordWeight
        self.bigramWeight = bigramWeight
        self.trigramWeight = trigramWeight
    }

    /// `hash/fh-w1b2c3-v1/<dimension>`; the weights are part of the model name when they
    /// differ from the defaults.
    public var identifier: EmbedderIdentifier {
        var model = "fh-w1b2c3-v1"
        if wordWeight != 1 || bigramWeight != 0.7 || trigramWeight != 0.35 {
            model += "-\(wordWeight)-\(bigramWeight)-\(trigramWeight)"
        }
        return EmbedderIdentifier(provider: "hash", model: model, dimension: outputDimension)
    }

    /// No request limit: it runs in-process.
    public var limits: EmbedderLimits { EmbedderLimits(maxInputsPerRequest: 4096) }

    /// One unit vector per text, computed on the calling thread.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map(vector)
    }

    /// One unit vector per text, computed off the cooperative pool.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try Task.checkCancellation()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: texts.map(self.vector)) }
        }
    }

    /// The vector of one text.
    public func vector(_ text: String) -> [Float] {
        var counts: [UInt64: (weight: Float, count: Float)] = [:]
        func add(_ hash: UInt64, _ weight: Float) {
            counts[hash, default: (weight, 0)].count += 1
        }
        var previous: UInt64?
        for word in Self.words(text) {
            let wordHash = Self.hash(word, seed: 0x77)
            add(wordHash, wordWeight)
            if let previous { add(Self.mix(previous &* 31 &+ wordHash), bigramWeight) }
            previous = wordHash
            // Character trigrams of "<word>", on Unicode scalars.
            let scalars = [UInt32(60)] + word.unicodeScalars.map(\.value) + [UInt32(62)]
            if scalars.count >= 3 {
                for i in 0...(scalars.count - 3) {
                    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ 0x63
                    for s in scalars[i..<(i + 3)] { h = (h ^ UInt64(s)) &* 0x100_0000_01b3 }
                    add(Self.mix(h), trigramWeight)
                }
            }
        }
        if counts.isEmpty { add(Self.hash("", seed: 0x65), 1) }  // empty text: a fixed unit vector
        var v = [Float](repeating: 0, count: outputDimension)
        // In hash order: Dictionary order varies between instances and processes, and
        // float sums depend on order.
        for (hash, entry) in counts.sorted(by: { $0.key < $1.key }) {
            let index = Int(hash % UInt64(outputDimension))
            let sign: Float = hash >> 63 == 0 ? 1 : -1
            v[index] += sign * entry.weight * (1 + log(entry.count))
        }
        var norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm == 0 {  // every feature cancelled out: fall back to the first one's slot
            v[Int((counts.keys.min() ?? 0) % UInt64(outputDimension))] = 1
            norm = 1
        }
        return v.map { $0 / norm }
    }

    /// Lowercased words: maximal runs of letters, digits and marks.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.lowercased().unicodeScalars {
            let p = scalar.properties
            if p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark {
                current.append(scalar)
            } else if !current.isEmpty {
                out.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }

    /// FNV-1a over the UTF-8 bytes, then a SplitMix finalizer for well-spread bits.
    static func hash(_ s: String, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(h)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
