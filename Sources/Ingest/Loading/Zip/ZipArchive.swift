import CArchive

/// The entries of a ZIP container (DOCX, PPTX, XLSX, ODT, EPUB) read from memory with
/// libarchive, under limits against zip bombs: a cap on the entries, and on the bytes they
/// expand to, absolute and relative to the archive's own size. The only file that imports
/// `CArchive`.
public struct ZipArchive: Sendable {
    /// How far a container may expand.
    public struct Limits: Sendable, Hashable {
        /// Most entries in the archive.
        public var maxEntries = 20_000
        /// Most bytes all entries read may expand to.
        public var maxTotalBytes = 512 << 20
        /// Most bytes the entries read may expand to per byte of archive…
        public var maxRatio = 100
        /// …except that any archive may expand to this much (small files compress well).
        public var ratioFloor = 16 << 20

        /// The defaults: 100 times the archive's size, at least 16 MiB and at most 512 MiB.
        public init() {}

        /// The expansion budget for an archive of `size` bytes.
        public func budget(archiveSize size: Int) -> Int {
            min(maxTotalBytes, max(ratioFloor, size.multipliedReportingOverflow(by: maxRatio).partialValue))
        }
    }

    /// Why an archive could not be read.
    public enum Failure: Error, Equatable, Sendable {
        /// Not a ZIP file, or a damaged one (libarchive's message).
        case damaged(String)
        /// It expands past the budget: a zip bomb, or just too large.
        case tooLarge(budget: Int)
        /// It has more entries than the limit.
        case tooManyEntries(limit: Int)
    }

    /// The entries read, by path inside the archive.
    public let entries: [String: [UInt8]]
    /// Every entry's path, in archive order (also those not read).
    public let names: [String]

    /// Reads the entries of `bytes` whose path `wanted` accepts (and lists all names).
    ///
    /// - Throws: `Failure`.
    public init(bytes: [UInt8], limits: Limits = Limits(), reading wanted: (String) -> Bool) throws(Failure) {
        guard let archive = archive_read_new() else { throw .damaged("out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_format_zip(archive)
        let budget = limits.budget(archiveSize: bytes.count)
        var entries: [String: [UInt8]] = [:]
        var names: [String] = []
        var total = 0
        let failure: Failure? = bytes.withUnsafeBytes { raw -> Failure? in
            guard archive_read_open_memory(archive, raw.baseAddress, raw.count) == ARCHIVE_OK else {
                return .damaged(Self.message(archive))
            }
            var entry: OpaquePointer?
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let r = archive_read_next_header(archive, &entry)
                if r == ARCHIVE_EOF { return nil }
                guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else { return .damaged(Self.message(archive)) }
                guard names.count < limits.maxEntries else { return .tooManyEntries(limit: limits.maxEntries) }
                let name =
                    archive_entry_pathname_utf8(entry).map { String(cString: $0) } ?? archive_entry_pathname(entry).map {
                        String(cString: $0)
                    } ?? ""
                names.append(name)
                guard wanted(name), archive_entry_filetype(entry) == quiver_archive_regular_file() || archive_entry_filetype(entry) == 0
                else { continue }
                var data: [UInt8] = []
                while true {
                    let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                    if n == 0 { break }
                    guard n > 0 else { return .damaged(Self.message(archive)) }
                    total += n
                    // Stop as soon as the budget is spent: a bomb is never expanded whole.
                    guard total <= budget else { return .tooLarge(budget: budget) }
                    buffer.withUnsafeBufferPointer { data.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<n])) }
                }
                entries[name] = data
            }
        }
        if let failure { throw failure }
        self.entries = entries
        self.names = names
    }

    fileprivate static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "not a ZIP archive"
    }
}

extension ZipArchive {
    /// A ZIP archive of `entries` (path, bytes), deflated: for tests, benchmarks and tools
    /// that make containers (a synthetic DOCX, a zip bomb).
    ///
    /// - Throws: `Failure.damaged` with libarchive's message.
    public static func make(_ entries: [(path: String, bytes: [UInt8])]) throws(Failure) -> [UInt8] {
        guard let archive = archive_write_new() else { throw .damaged("out of memory") }
        defer { archive_write_free(archive) }
        archive_write_set_format_zip(archive)
        archive_write_zip_set_compression_deflate(archive)
        // Deflate never grows data by much more than its block overhead.
        let capacity = entries.reduce(4096) { $0 + $1.bytes.count + $1.bytes.count / 100 + 256 + $1.path.utf8.count * 2 }
        var buffer = [UInt8](repeating: 0, count: capacity)
        var used = 0
        let failure: Failure? = buffer.withUnsafeMutableBytes { raw -> Failure? in
            guard archive_write_open_memory(archive, raw.baseAddress, raw.count, &used) == ARCHIVE_OK else {
                return .damaged(message(archive))
            }
            for (path, bytes) in entries {
                guard let entry = archive_entry_new() else { return .damaged("out of memory") }
                defer { archive_entry_free(entry) }
                archive_entry_set_pathname(entry, path)
                archive_entry_set_size(entry, la_int64_t(bytes.count))
                archive_entry_set_filetype(entry, quiver_archive_regular_file())
                archive_entry_set_perm(entry, 0o644)
                archive_entry_set_mtime(entry, 1_704_164_645, 0)
                guard archive_write_header(archive, entry) == ARCHIVE_OK else { return .damaged(message(archive)) }
                let written = bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
                guard written == bytes.count else { return .damaged(message(archive)) }
            }
            return archive_write_close(archive) == ARCHIVE_OK ? nil : .damaged(message(archive))
        }
        if let failure { throw failure }
        return Array(buffer[..<used])
    }
}
