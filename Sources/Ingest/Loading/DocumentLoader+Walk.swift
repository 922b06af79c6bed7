import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension DocumentLoader {
    /// Relative paths of the files under `root` that the globs select, sorted: every one,
    /// whatever its extension, since a parser may recognise it by its content and one that
    /// none takes is to be reported, not passed over.
    ///
    /// Hidden folders and files (names starting with `.`) are skipped; symbolic links are
    /// followed, and every real file and folder is taken once, known by its device and
    /// inode, however many links or hard links lead to it. The path that names it is the
    /// first found: the real tree is walked first, names in sorted order, depth first;
    /// then the links met on the way, in the order met (the real tree behind each link is
    /// walked the same way, its own links queued after the others). So a link never
    /// renames a file that is also reachable without one. A link back to a folder on its
    /// own path is reported `.symlinkLoop`; a link to a folder walked elsewhere is passed
    /// over silently.
    public func walk(_ root: String) -> (files: [String], issues: [LoadIssue]) {
        let (files, issues) = measuredWalk(root)
        return (files.map(\.path), issues)
    }

    /// `walk(_:)` with each file's size in bytes as the walk saw it (of a link's target for
    /// a link): what the ingest pipeline sizes its windows by.
    func measuredWalk(_ root: String) -> (files: [(path: String, bytes: Int)], issues: [LoadIssue]) {
        var walk = Walk(root: root, loader: self)
        return walk.run()
    }
}

/// A file or folder as the file system knows it, whatever the path that led to it.
private struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64
}

/// What a directory entry is.
private struct Entry {
    enum Kind { case directory, link, other }

    var identity: FileIdentity
    var kind: Kind
    var bytes: Int

    /// What `path` is (with `following` false, a link is itself: `lstat`), or nil when it
    /// cannot be read.
    init?(_ path: String, following: Bool) {
        var st = stat()
        guard (following ? stat(path, &st) : lstat(path, &st)) == 0 else { return nil }
        identity = FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        bytes = Int(st.st_size)
        switch st.st_mode & S_IFMT {
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .link
        default: kind = .other
        }
    }
}

/// The state of one `DocumentLoader.walk`.
private struct Walk {
    /// A folder on the path from the root to where the walk is, and its relative path.
    typealias Ancestor = (identity: FileIdentity, path: String)

    let root: String
    let loader: DocumentLoader
    var files: [(path: String, bytes: Int)] = []
    var issues: [LoadIssue] = []
    var folders: Set<FileIdentity> = []
    var taken: Set<FileIdentity> = []
    /// Links met and not yet followed, with the folders above them.
    var links: [(relative: String, ancestors: [Ancestor])] = []

    init(root: String, loader: DocumentLoader) {
        self.root = root
        self.loader = loader
    }

    func absolute(_ relative: String) -> String {
        relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
    }

    mutating func run() -> (files: [(path: String, bytes: Int)], issues: [LoadIssue]) {
        guard let entry = Entry(root, following: true) else {
            issues.append(LoadIssue(path: root, kind: .unreadable, detail: "cannot list the directory"))
            return ([], issues)
        }
        enter("", entry.identity, ancestors: [])
        var next = 0
        while next < links.count {
            let (relative, ancestors) = links[next]
            next += 1
            guard let target = Entry(absolute(relative), following: true) else {
                // A link to nothing (perhaps a mount that is away): reported, so that a prune
                // keeps what was indexed from it.
                issues.append(LoadIssue(path: relative, kind: .unreadable, detail: "a link to something that is not there"))
                continue
            }
            if target.kind == .directory {
                enter(relative, target.identity, ancestors: ancestors)
            } else {
                take(relative, target)
            }
        }
        return (files.sorted { $0.path < $1.path }, issues)
    }

    /// Walks the folder `relative` unless it is on its own path (a loop) or was walked.
    mutating func enter(_ relative: String, _ identity: FileIdentity, ancestors: [Ancestor]) {
        if let ancestor = ancestors.first(where: { $0.identity == identity }) {
            let target = ancestor.path.isEmpty ? root : ancestor.path
            issues.append(LoadIssue(path: relative, kind: .symlinkLoop, detail: "leads back to \(target)"))
            return
        }
        guard folders.insert(identity).inserted else { return }
        let path = absolute(relative)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            issues.append(LoadIssue(path: relative.isEmpty ? root : relative, kind: .unreadable, detail: "cannot list the directory"))
            return
        }
        let chain = ancestors + [(identity, relative)]
        for name in names.sorted() where !name.hasPrefix(".") {
            let child = relative.isEmpty ? name : relative + "/" + name
            guard let entry = Entry(absolute(child), following: false) else {
                // Foundation lists a name that is not UTF-8 with U+FFFD in place of the
                // bad bytes, which names no file.
                let detail =
                    name.unicodeScalars.contains("\u{FFFD}")
                    ? "its name is not valid UTF-8 (Quiver reads UTF-8 file names): rename it to index it"
                    : "cannot read its attributes"
                issues.append(LoadIssue(path: child, kind: .unreadable, detail: detail))
                continue
            }
            switch entry.kind {
            case .link: links.append((child, chain))
            case .directory: enter(child, entry.identity, ancestors: chain)
            case .other: take(child, entry)
            }
        }
    }

    /// Lists the file `relative` if the globs select it and no other path took it.
    mutating func take(_ relative: String, _ entry: Entry) {
        guard loader.selected(relative), taken.insert(entry.identity).inserted else { return }
        files.append((relative, entry.bytes))
    }
}
