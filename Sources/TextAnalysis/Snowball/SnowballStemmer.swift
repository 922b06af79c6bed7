import CStemmer

/// One libstemmer stemmer: the only type that touches the C library.
///
/// Not thread-safe (libstemmer keeps its work area in the object): each instance belongs to
/// one ``AnalysisWorker``, which one thread at a time takes from its analyzer's pool.
final class SnowballStemmer {
    private let handle: OpaquePointer

    /// A UTF-8 stemmer for a Snowball algorithm name, or nil when libstemmer does not know
    /// the name (or is out of memory).
    init?(algorithm: String) {
        guard let handle = sb_stemmer_new(algorithm, "UTF_8") else { return nil }
        self.handle = handle
    }

    deinit { sb_stemmer_delete(handle) }

    /// The stem of `word` (UTF-8), valid until the next call; the word itself if libstemmer
    /// runs out of memory.
    func stem(_ word: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let base = word.baseAddress else { return word }
        guard let result = sb_stemmer_stem(handle, base.assumingMemoryBound(to: sb_symbol.self), Int32(word.count)) else {
            return word
        }
        return UnsafeRawBufferPointer(start: result, count: Int(sb_stemmer_length(handle)))
    }

    /// The canonical algorithm names of the linked libstemmer (`sb_stemmer_list`), sorted.
    static let algorithms: [String] = {
        var names: [String] = []
        guard var list = sb_stemmer_list() else { return names }
        while let name = list.pointee {
            names.append(String(cString: name))
            list += 1
        }
        return names.sorted()
    }()
}
