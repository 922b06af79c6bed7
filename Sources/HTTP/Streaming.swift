/// Splits a byte stream into lines (LF or CRLF), across chunk boundaries, decoding UTF-8
/// only once a line is complete (so a character split between chunks survives).
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []

    /// Creates a splitter.
    public init() {}

    /// The lines completed by `chunk`.
    public mutating func feed(_ chunk: [UInt8]) -> [String] {
        var lines: [String] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
        return lines
    }

    /// The last line, if the stream did not end with a line break.
    public mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

/// One server-sent event.
public struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field (nil for the default "message").
    public var event: String?
    /// The `data:` lines joined with newlines.
    public var data: String
    /// The `id:` field.
    public var id: String?

    /// Creates an event.
    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// Parses server-sent events line by line (the WHATWG event-stream format): `data:`
/// lines accumulate, a blank line dispatches, `:` lines are comments.
public struct ServerSentEventParser: Sendable {
    private var data: [String] = []
    private var event: String?
    private var id: String?

    /// Creates a parser.
    public init() {}

    /// The event a line completes, if any.
    public mutating func feed(_ line: String) -> ServerSentEvent? {
        if line.isEmpty { return dispatch() }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "data": data.append(String(value))
        case "event": event = String(value)
        case "id": id = String(value)
        default: break
        }
        return nil
    }

    /// A final event not followed by a blank line (a truncated stream) is dropped, as the
    /// format requires; returns nil.
    public mutating func finish() -> ServerSentEvent? {
        data.removeAll()
        event = nil
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data.removeAll()
            event = nil
        }
        guard !data.isEmpty else { return nil }
        return ServerSentEvent(event: event, data: data.joined(separator: "\n"), id: id)
    }
}
