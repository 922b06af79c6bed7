/// The parts of a file path that Foundation's `NSString` path methods name, found the way
/// they find them but without calling them: on Linux those methods stop the process for
/// some paths, e.g. `pathExtension` and `deletingLastPathComponent` of `"a//é"` (a doubled
/// slash before a non-ASCII name: merging the slashes leaves an index past the end) and
/// `lastPathComponent` of `"///a//"`, and `deletingLastPathComponent` of any one-character
/// relative path (`"a"`, `"x/"`). A file list a user passes, or a path typed on the
/// command line, may be like that.
///
/// As Foundation does, runs of slashes count as one, a trailing slash is ignored (but `"/"`
/// stays the root), and paths are read by `Character`s (a slash or dot with a combining
/// mark is neither). ASCII paths are read byte by byte, which is the same there.
///
/// ```swift
/// PathNames.lastComponent("notes//Guide.MD")  // "Guide.MD"
/// PathNames.fileExtension("notes//Guide.MD")  // "MD"
/// PathNames.parent("notes//Guide.MD")         // "notes"
/// ```
public enum PathNames {
    /// The last component (`NSString.lastPathComponent`): `"/"` for the root, `""` for
    /// an empty path.
    public static func lastComponent(_ path: String) -> String {
        apply(path) { (units, slash, _) in
            guard units.count > 1, let last = units.lastIndex(of: slash) else { return units[...] }
            return units[(last + 1)...]
        }
    }

    /// The path without its last component (`NSString.deletingLastPathComponent`): `""`
    /// for a single relative component, `"/"` for one under the root; slashes merged.
    public static func parent(_ path: String) -> String {
        apply(path) { (units, slash, _) in
            guard units.count > 1 || (units.first.map { $0 != slash } ?? false) else { return units[...] }
            guard let last = units.lastIndex(of: slash) else { return [] }
            return last == 0 ? units[...0] : units[..<last]
        }
    }

    /// The extension of the last component, as written (`NSString.pathExtension`): what
    /// follows its last dot, `""` when it has none or only a leading one.
    public static func fileExtension(_ path: String) -> String {
        apply(path) { (units, slash, dot) in
            let start = units.lastIndex(of: slash).map { $0 + 1 } ?? 0
            guard let d = units[start...].lastIndex(of: dot), d > start else { return [] }
            return units[(d + 1)...]
        }
    }

    /// The part of the path `pick` chooses, from its units with slashes merged and a
    /// trailing one dropped (as Foundation's `_stringByFixingSlashes` leaves them): the
    /// bytes of an ASCII path, else a stand-in byte per `Character` (a slash and a dot as
    /// themselves, anything else as a byte that is neither).
    private static func apply(_ path: String, _ pick: (_ units: [UInt8], _ slash: UInt8, _ dot: UInt8) -> ArraySlice<UInt8>) -> String {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        if path.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: pick(fixed(Array(path.utf8), slash: slash), slash, dot), as: UTF8.self)
        }
        let characters = fixed(Array(path), slash: "/")
        let standIn = characters.map { $0 == "/" ? slash : $0 == "." ? dot : UInt8(ascii: "x") }
        let picked = pick(standIn, slash, dot)
        return String(characters[picked.startIndex..<picked.endIndex])
    }

    /// Runs of `slash` merged into one, and a trailing one dropped unless it is all there is.
    private static func fixed<Unit: Equatable>(_ units: [Unit], slash: Unit) -> [Unit] {
        var out: [Unit] = []
        out.reserveCapacity(units.count)
        for u in units where !(u == slash && out.last == slash) { out.append(u) }
        if out.count > 1 && out.last == slash { out.removeLast() }
        return out
    }
}
