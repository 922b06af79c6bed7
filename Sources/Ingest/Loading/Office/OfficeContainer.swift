/// A ZIP-based document (DOCX, PPTX, XLSX, ODT, EPUB) opened for a parser: its entries,
/// with failures turned into `LoadIssue`s that name the file.
struct OfficeContainer {
    let zip: ZipArchive
    let id: String
    let format: String

    /// Opens `input` as a `format` container, reading the entries `wanted` accepts.
    ///
    /// - Throws: a `LoadIssue`: `.tooLarge` for a container that expands past its budget
    ///   (a zip bomb), `.unreadable` for a damaged one.
    init(_ input: ParseInput, format: String, reading wanted: (String) -> Bool) throws(LoadIssue) {
        id = input.id
        self.format = format
        do {
            zip = try ZipArchive(bytes: input.bytes, limits: input.options.zipLimits, reading: wanted)
        } catch {
            switch error {
            case .damaged(let message):
                throw LoadIssue(path: input.id, kind: .unreadable, detail: "not a \(format) file: a damaged ZIP container (\(message))")
            case .tooLarge(let budget):
                throw LoadIssue(
                    path: input.id, kind: .tooLarge,
                    detail: "expands past \(budget >> 20) MiB (\(input.options.zipLimits.maxRatio)× its size, at least "
                        + "\(input.options.zipLimits.ratioFloor >> 20) MiB): a zip bomb?")
            case .tooManyEntries(let limit):
                throw LoadIssue(path: input.id, kind: .tooLarge, detail: "more than \(limit) entries in its ZIP container")
            }
        }
    }

    /// The bytes of entry `name`, or nil when the container has none.
    func entry(_ name: String) -> [UInt8]? { zip.entries[name] }

    /// The bytes of entry `name`.
    ///
    /// - Throws: `.unreadable` naming the missing part.
    func required(_ name: String) throws(LoadIssue) -> [UInt8] {
        guard let bytes = zip.entries[name] else {
            throw LoadIssue(path: id, kind: .unreadable, detail: "not a \(format) file: it has no \(name)")
        }
        return bytes
    }

    /// Reads entry `name`'s XML, calling `body` for every event.
    ///
    /// - Throws: `.unreadable` naming the entry for malformed XML or a DTD.
    func xml(_ name: String, _ bytes: [UInt8], _ body: (XMLReader.Event) throws(LoadIssue) -> Void) throws(LoadIssue) {
        do {
            let reader = try XMLReader(bytes: bytes)
            while let event = try reader.next() { try body(event) }
        } catch let failure as XMLReader.Failure {
            throw LoadIssue(path: id, kind: .unreadable, detail: "\(name): \(failure.message)")
        } catch let issue as LoadIssue {
            throw issue
        } catch {
            throw LoadIssue(path: id, kind: .unreadable, detail: "\(name): \(error)")
        }
    }

    /// A relationship of an OOXML part: its target's entry path and its type URI.
    struct Relationship {
        var target: String
        var type: String
    }

    /// The relationships of a part (`_rels/*.rels`) by id, targets resolved against `base`
    /// (the folder of the part they belong to); external targets left out.
    func relationships(_ name: String, base: String) throws(LoadIssue) -> [String: Relationship] {
        guard let bytes = entry(name) else { return [:] }
        var out: [String: Relationship] = [:]
        try xml(name, bytes) { event throws(LoadIssue) in
            if case .start("Relationship", let a, _) = event, let id = a["Id"], let target = a["Target"], a["TargetMode"] != "External" {
                out[id] = Relationship(target: Self.resolve(target, against: base), type: a["Type"] ?? "")
            }
        }
        return out
    }

    /// The relationships file of entry `part` (`ppt/slides/slide1.xml` →
    /// `ppt/slides/_rels/slide1.xml.rels`), resolved against the part's folder.
    func relationships(of part: String) throws(LoadIssue) -> [String: Relationship] {
        let folder = part.split(separator: "/").dropLast().joined(separator: "/")
        let file = part.split(separator: "/").last.map(String.init) ?? part
        return try relationships((folder.isEmpty ? "" : folder + "/") + "_rels/" + file + ".rels", base: folder)
    }

    /// `target` (relative, or absolute from the container's root) as an entry path.
    static func resolve(_ target: String, against base: String) -> String {
        let decoded = target.removingPercentEncodingIfPossible
        var parts = decoded.hasPrefix("/") ? [] : base.split(separator: "/").map(String.init)
        for p in decoded.split(separator: "/") {
            if p == ".." {
                if !parts.isEmpty { parts.removeLast() }
            } else if p != "." {
                parts.append(String(p))
            }
        }
        return parts.joined(separator: "/")
    }
}

extension String {
    fileprivate var removingPercentEncodingIfPossible: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var it = utf8.makeIterator()
        while let b = it.next() {
            guard b == UInt8(ascii: "%"), let h = it.next() else {
                bytes.append(b)
                continue
            }
            guard let l = it.next() else {
                bytes += [b, h]
                continue
            }
            if let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) { bytes.append(v) } else { bytes += [b, h, l] }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
