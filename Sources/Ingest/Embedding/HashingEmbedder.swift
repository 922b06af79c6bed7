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

    /// The dimensions it makes vectors of: below 8 almost every text would share its few
    /// slots; above 65,536 no store could hold the vectors (and each text allocates a
    /// table of that size).
    public static let dimensions: ClosedRange<Int> = 8...65536

    /// Checks a dimension that comes from a user or a file before `init` is called with it.
    ///
    /// ```swift
    /// try HashingEmbedder.validate(dimension: requested)
    /// let embedder = HashingEmbedder(dimension: requested)
    /// ```
    ///
    /// - Throws: `IngestError.invalidArgument` (with `expected` and `actual`) when
    ///   `dimension` is outside `dimensions`.
    public static func validate(dimension: Int) throws {
        guard dimensions.contains(dimension) else {
            throw IngestError(
                .invalidArgument,
                "the hash embedder makes vectors of \(dimensions.lowerBound) to \(dimensions.upperBound) dimensions, "
                    + "not \(dimension)",
                input: "dimension", expected: "\(dimensions.lowerBound)...\(dimensions.upperBound)", actual: "\(dimension)")
        }
    }

    /// Creates a hashing embedder.
    ///
    /// - Precondition: `dimension` is in `dimensions` (check input with
    ///   `validate(dimension:)` first).
    public init(dimension: Int = 384, wordWeight: Float = 1, bigramWeight: Float = 0.7, trigramWeight: Float = 0.35) {
        precondition(Self.dimensions.contains(dimension), "HashingEmbedder needs 8...65536 dimensions, got \(dimension)")
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
        return await BlockingExecutor.shared.run { texts.map(self.vector) }
    }

    /// The vector of one text.
    public func vector(_ text: String) -> [Float] {
        // Every feature in the order it occurs.
        var features: [Feature] = []
        features.reserveCapacity(text.utf8.count + 16)  // about one feature per byte of a word
        func add(_ hash: UInt64, _ weight: Float) { features.append(Feature(hash: hash, weight: weight)) }
        var previous: UInt64?
        var scalars: [UInt32] = []
        Self.forEachWord(text) { utf8, wordScalars in
            let wordHash = Self.hash(utf8, seed: 0x77)
            add(wordHash, wordWeight)
            if let previous { add(Self.mix(previous &* 31 &+ wordHash), bigramWeight) }
            previous = wordHash
            // Character trigrams of "<word>", on Unicode scalars.
            scalars.removeAll(keepingCapacity: true)
            scalars.append(60)
            scalars.append(contentsOf: wordScalars)
            scalars.append(62)
            if scalars.count >= 3 {
                for i in 0...(scalars.count - 3) {
                    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ 0x63
                    h = (h ^ UInt64(scalars[i])) &* 0x100_0000_01b3
                    h = (h ^ UInt64(scalars[i + 1])) &* 0x100_0000_01b3
                    h = (h ^ UInt64(scalars[i + 2])) &* 0x100_0000_01b3
                    add(Self.mix(h), trigramWeight)
                }
            }
        }
        if features.isEmpty { add(Self.hash(Array("".utf8), seed: 0x65), 1) }  // empty text: a fixed unit vector
        // Count equal hashes in an open-addressing table (the first occurrence's weight
        // counts), then sum each output slot's terms in ascending hash order: the same
        // floats, in the same order, as summing all distinct features sorted by hash.
        var capacity = 16
        while capacity < features.count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [Int32](repeating: -1, count: capacity)  // table slot → distinct entry
        var distinct: [(hash: UInt64, weight: Float, count: Int32)] = []
        distinct.reserveCapacity(features.count)
        for f in features {
            var t = Int(truncatingIfNeeded: f.hash) & mask
            while true {
                let e = slots[t]
                if e < 0 {
                    slots[t] = Int32(distinct.count)
                    distinct.append((f.hash, f.weight, 1))
                    break
                }
                if distinct[Int(e)].hash == f.hash {
                    distinct[Int(e)].count += 1
                    break
                }
                t = (t + 1) & mask
            }
        }
        // Group the distinct entries by output slot (counting sort), then order each group.
        let dimension = outputDimension
        var starts = [Int](repeating: 0, count: dimension + 1)
        for d in distinct { starts[Int(d.hash % UInt64(dimension)) + 1] += 1 }
        for i in 0..<dimension { starts[i + 1] += starts[i] }
        var fill = starts
        var grouped = [Int32](repeating: 0, count: distinct.count)
        for (i, d) in distinct.enumerated() {
            let slot = Int(d.hash % UInt64(dimension))
            grouped[fill[slot]] = Int32(i)
            fill[slot] += 1
        }
        var v = [Float](repeating: 0, count: dimension)
        for slot in 0..<dimension where starts[slot + 1] > starts[slot] {
            let range = starts[slot]..<starts[slot + 1]
            if range.count > 1 {  // insertion sort by hash: groups are a few entries
                for i in (range.lowerBound + 1)..<range.upperBound {
                    let x = grouped[i]
                    var j = i
                    while j > range.lowerBound && distinct[Int(grouped[j - 1])].hash > distinct[Int(x)].hash {
                        grouped[j] = grouped[j - 1]
                        j -= 1
                    }
                    grouped[j] = x
                }
            }
            for k in range {
                let d = distinct[Int(grouped[k])]
                let sign: Float = d.hash >> 63 == 0 ? 1 : -1
                // The first version counted in Float, which stops at 2^24: so does this.
                v[slot] += sign * d.weight * (1 + log(Float(min(d.count, 1 << 24))))
            }
        }
        var norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm == 0 {  // every feature cancelled out: fall back to the smallest hash's slot
            let smallest = distinct.map(\.hash).min() ?? 0
            v[Int(smallest % UInt64(dimension))] = 1
            norm = 1
        }
        return v.map { $0 / norm }
    }

    private struct Feature {
        var hash: UInt64
        var weight: Float
    }

    /// Calls `body` with each lowercased word's UTF-8 bytes and scalar values. ASCII text
    /// is read as bytes; other text is lowercased with Swift's Unicode tables first.
    static func forEachWord(_ text: String, _ body: (_ utf8: [UInt8], _ scalars: [UInt32]) -> Void) {
        var bytes: [UInt8] = []
        var scalars: [UInt32] = []
        func flush() {
            if !bytes.isEmpty { body(bytes, scalars) }
            bytes.removeAll(keepingCapacity: true)
            scalars.removeAll(keepingCapacity: true)
        }
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            for var b in text.utf8 {
                if b >= 0x41 && b <= 0x5A { b += 0x20 }
                if (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) {
                    bytes.append(b)
                    scalars.append(UInt32(b))
                } else {
                    flush()
                }
            }
            flush()
            return
        }
        for scalar in text.lowercased().unicodeScalars {
            let inWord: Bool
            if scalar.value < 0x80 {
                let b = scalar.value
                inWord = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A)
            } else {
                let p = scalar.properties
                inWord = p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark
            }
            if inWord {
                bytes.append(contentsOf: UTF8.encode(scalar)!)
                scalars.append(scalar.value)
            } else {
                flush()
            }
        }
        flush()
    }

    /// FNV-1a over the UTF-8 bytes, then a SplitMix finalizer for well-spread bits.
    static func hash(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(h)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
