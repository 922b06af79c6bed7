#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's file-descriptor budget, checked before work that opens many at once.
///
/// Running out of descriptors half-way is not an error anyone can handle: libdispatch
/// and libcurl abort the process when a socket, pipe or eventfd cannot be made (with
/// `ulimit -n 16`, an index at concurrency 16 died of an illegal instruction). So work
/// that will hold `n` descriptors at once asks first: the soft limit is raised towards
/// the hard one when that suffices, else a clear error says what to change.
public enum FileDescriptors {
    /// Descriptors kept free for everything else the process opens meanwhile (the store,
    /// the files being read, libdispatch's own).
    public static let reserve = 16

    /// Makes sure `needed` more descriptors (plus ``reserve``) can be opened, raising the
    /// soft limit up to the hard limit if that is enough.
    ///
    /// - Parameters:
    ///   - needed: descriptors the work holds at once (a connection per request in flight).
    ///   - work: what needs them, for the error (`"--concurrency 16"`).
    ///   - perUnit: descriptors per unit of concurrency, when lowering it is a way out
    ///     (the error then says how far).
    /// - Throws: `QuiverError(.invalidArgument)` naming the limit and what to change.
    public static func ensureAvailable(_ needed: Int, for work: String, perUnit: Int? = nil) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let open = openCount()
        let want = open + needed + reserve
        guard UInt64(want) > UInt64(limit.rlim_cur) else { return }
        if limit.rlim_max == rlim_t.max || UInt64(limit.rlim_max) >= UInt64(want) {
            var raised = limit
            raised.rlim_cur = rlim_t(max(UInt64(want), min(UInt64(limit.rlim_max), 4096)))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return }
        }
        let room = Int(limit.rlim_cur) - open - reserve
        let lower = perUnit.flatMap { unit in room >= unit ? " or lower the concurrency to \(room / unit)" : nil } ?? ""
        throw QuiverError(
            .invalidArgument,
            "\(work) needs about \(needed + reserve) file descriptors, and \(open) of the \(limit.rlim_cur) this process may "
                + "open (ulimit -n) are in use; raise the limit (ulimit -n \(want))\(lower)",
            input: work, expected: "a descriptor limit of at least \(want)", actual: "\(limit.rlim_cur)")
    }

    /// Descriptors open now (entries of /proc/self/fd; 0 where that is not readable).
    public static func openCount() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var count = -1  // the directory's own descriptor
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count)
    }
}
