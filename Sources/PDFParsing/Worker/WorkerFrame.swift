/// One message between Quiver and a PDF worker process: a kind byte, a little-endian
/// 32-bit payload length, the payload. Both directions use it over one socket.
///
/// Quiver sends `.request` (passwords, then the PDF's bytes); the worker answers `.info`,
/// one `.page` per page in order, then `.done`, or `.failure` instead at any point. The
/// worker is not trusted: every length is checked before it is used.
struct WorkerFrame: Equatable, Sendable {
    /// What a frame carries.
    enum Kind: UInt8, Sendable {
        /// Quiver → worker: `u32 count`, then per password `u32 length, UTF-8`, then the PDF.
        case request = 0x52  // "R"
        /// Worker → Quiver: `u32 pages`, `u32 length, title`, `u32 length, author`.
        case info = 0x49  // "I"
        /// Worker → Quiver: `u32 index` (from 0), then the page's text (UTF-8).
        case page = 0x50  // "P"
        /// Worker → Quiver: the last frame of a document.
        case done = 0x44  // "D"
        /// Worker → Quiver: `u8 reason` (`Failure`), then a message (UTF-8).
        case failure = 0x45  // "E"
    }

    /// Why a worker could not read a document.
    enum Failure: UInt8, Sendable {
        /// Encrypted, and no password tried opens it.
        case encrypted = 1
        /// Damaged, truncated, or not a PDF.
        case damaged = 2
        /// The request itself was malformed.
        case badRequest = 3
    }

    /// Bytes before the payload.
    static let headerSize = 5
    /// The largest payload either side accepts: a request holds the whole file.
    static let maxPayload = 1 << 30

    var kind: Kind
    var payload: [UInt8]

    /// The frame as sent.
    var encoded: [UInt8] {
        var out: [UInt8] = [kind.rawValue]
        out.reserveCapacity(Self.headerSize + payload.count)
        out.appendUInt32(UInt32(payload.count))
        return out + payload
    }

    /// The length in a frame header, or nil when it is not a known kind or is too long.
    static func header(_ bytes: some Collection<UInt8>) -> (kind: Kind, length: Int)? {
        guard bytes.count >= headerSize, let kind = Kind(rawValue: bytes[bytes.startIndex]) else { return nil }
        var reader = PayloadReader(Array(bytes.dropFirst().prefix(4)))
        guard let length = reader.uint32(), Int(length) <= maxPayload else { return nil }
        return (kind, Int(length))
    }

    // MARK: Payloads

    static func request(pdf: [UInt8], passwords: [String]) -> WorkerFrame {
        WorkerFrame(kind: .request, payload: requestHead(passwords: passwords) + pdf)
    }

    /// A request's payload before the PDF: the passwords.
    static func requestHead(passwords: [String]) -> [UInt8] {
        var p: [UInt8] = []
        p.appendUInt32(UInt32(passwords.count))
        for password in passwords { p.appendString(password) }
        return p
    }

    /// The passwords and the PDF of a `.request`; nil when malformed.
    func decodeRequest() -> (passwords: [String], pdf: ArraySlice<UInt8>)? {
        var r = PayloadReader(payload)
        guard kind == .request, let count = r.uint32(), count <= 64 else { return nil }
        var passwords: [String] = []
        for _ in 0..<count {
            guard let p = r.string() else { return nil }
            passwords.append(p)
        }
        return (passwords, r.rest)
    }

    static func info(pages: Int, title: String?, author: String?) -> WorkerFrame {
        var p: [UInt8] = []
        p.appendUInt32(UInt32(clamping: pages))
        p.appendString(title ?? "")
        p.appendString(author ?? "")
        return WorkerFrame(kind: .info, payload: p)
    }

    /// The page count, title and author of an `.info` (blank ones nil).
    func decodeInfo() -> (pages: Int, title: String?, author: String?)? {
        var r = PayloadReader(payload)
        guard kind == .info, let pages = r.uint32(), let title = r.string(), let author = r.string(), r.rest.isEmpty else {
            return nil
        }
        return (Int(pages), title.isEmpty ? nil : title, author.isEmpty ? nil : author)
    }

    static func page(_ index: Int, text: String) -> WorkerFrame {
        var text = text  // withUTF8 needs a var
        return text.withUTF8 { page(index, utf8: UnsafeRawBufferPointer($0)) }
    }

    /// A `.page` whose text is `utf8` as it is (the receiver repairs invalid UTF-8).
    static func page(_ index: Int, utf8: UnsafeRawBufferPointer) -> WorkerFrame {
        var p: [UInt8] = []
        p.reserveCapacity(4 + utf8.count)
        p.appendUInt32(UInt32(clamping: index))
        p.append(contentsOf: utf8)
        return WorkerFrame(kind: .page, payload: p)
    }

    /// The page index and text of a `.page` (invalid UTF-8 repaired).
    func decodePage() -> (index: Int, text: String)? {
        var r = PayloadReader(payload)
        guard kind == .page, let index = r.uint32() else { return nil }
        return (Int(index), String(decoding: r.rest, as: UTF8.self))
    }

    static func failure(_ reason: Failure, _ message: String) -> WorkerFrame {
        WorkerFrame(kind: .failure, payload: [reason.rawValue] + Array(message.utf8))
    }

    /// The reason and message of a `.failure`.
    func decodeFailure() -> (reason: Failure, message: String)? {
        guard kind == .failure, let first = payload.first, let reason = Failure(rawValue: first) else { return nil }
        return (reason, String(decoding: payload.dropFirst(), as: UTF8.self))
    }

    static let done = WorkerFrame(kind: .done, payload: [])
}

/// Reads little-endian fields from a payload, refusing to read past its end.
struct PayloadReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var rest: ArraySlice<UInt8> { bytes[offset...] }

    mutating func uint32() -> UInt32? {
        guard bytes.count - offset >= 4 else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return v
    }

    mutating func string() -> String? {
        guard let n = uint32().map(Int.init), bytes.count - offset >= n else { return nil }
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }
}

extension [UInt8] {
    fileprivate mutating func appendUInt32(_ v: UInt32) {
        for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    fileprivate mutating func appendString(_ s: String) {
        appendUInt32(UInt32(s.utf8.count))
        append(contentsOf: s.utf8)
    }
}
