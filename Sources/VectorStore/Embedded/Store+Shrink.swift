import Foundation

/// What `Store.shrink(path:)` did.
public struct ShrinkReport: Sendable {
    /// The data file's size before, in bytes.
    public var bytesBefore: Int
    /// The data file's size after, in bytes.
    public var bytesAfter: Int
}

extension Store {
    /// Makes the store's file as small as its live data allows: compacts every collection,
    /// writes a compacted copy of the file beside it, and swaps the copy in (an atomic
    /// rename). LMDB never shrinks a file in place: pages freed by deletes are reused, not
    /// returned, so `compact()` alone leaves the file its size.
    ///
    /// The swap needs the store alone: a process that has it open would go on with the old
    /// file, and what it wrote afterwards would be lost. So shrinking refuses while another
    /// process (or another `Store` in this one) has the store open, checks again just
    /// before the swap, and leaves the original in place when anything fails.
    ///
    /// - Throws: `.storage` naming the process that has the store open; the store's errors.
    public static func shrink(path: String) throws -> ShrinkReport {
        let dataFile = (path as NSString).appendingPathComponent("data.mdb")
        func size(_ file: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0 }
        func busy(_ pid: pid_t) -> StoreError {
            StoreError(
                .storage,
                "\(path) is open in process \(pid): shrinking swaps the store's file, and that process would go on "
                    + "writing to the old one; stop it and try again (`quiver backup` copies a store while it is in use)",
                path: path)
        }
        guard !LMDBEnvironment.isOpen(directory: path) else {
            throw StoreError(.storage, "\(path) is open in this process: close every Store of it before shrinking", path: path)
        }
        var holder: Int32 = -1
        defer { LMDBFile.release(holder) }
        if let pid = LMDBFile.otherUser(of: path, holder: &holder) { throw busy(pid) }
        let before = size(dataFile)
        let staging = (path as NSString).appendingPathComponent(".shrink-\(getpid())")
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            var options = StoreOptions()
            options.create = false
            let store = try Store(path: path, options: options)
            for info in try store.collections(includingReserved: true) { try store.collection(info.name).compact() }
            try store.copy(to: staging, compact: true)
        }
        // Every handle of this process is gone (the environment closed with the last one).
        guard !LMDBEnvironment.isOpen(directory: path) else {
            throw StoreError(.storage, "\(path) was opened in this process while it was being shrunk; nothing was swapped", path: path)
        }
        if let pid = LMDBFile.otherUser(of: path, holder: &holder) { throw busy(pid) }
        guard rename(staging + "/data.mdb", dataFile) == 0 else {
            throw StoreError(
                .storage, "cannot move the compacted copy into \(path): \(String(cString: strerror(errno)))", path: path)
        }
        return ShrinkReport(bytesBefore: before, bytesAfter: size(dataFile))
    }
}
