import Foundation
import HTTP
import TestSupport
import Testing

@Suite struct StreamingTests {
    @Test func linesAcrossChunksAndBrokenCharacters() {
        var s = LineSplitter()
        let text = Array("héllo\r\nwörld\npartial".utf8)
        // Split inside the two-byte "é" and inside "\r\n".
        var lines = s.feed(Array(text[0..<2])) + s.feed(Array(text[2..<7]))
        lines += s.feed(Array(text[7...]))
        #expect(lines == ["héllo", "wörld"])
        #expect(s.finish() == "partial")
        #expect(s.finish() == nil)
    }

    struct Row: Sendable {
        var lines: [String]
        var events: [ServerSentEvent]
    }

    static let rows: [Row] = [
        Row(lines: ["data: a", ""], events: [ServerSentEvent(event: nil, data: "a", id: nil)]),
        Row(lines: ["data:no-space", ""], events: [ServerSentEvent(event: nil, data: "no-space", id: nil)]),
        Row(
            lines: [": comment", "event: delta", "id: 7", "data: x", "data: y", ""],
            events: [ServerSentEvent(event: "delta", data: "x\ny", id: "7")]),
        Row(lines: ["", "", "data: 1", "", "data: 2", ""], events: [ServerSentEvent(data: "1"), ServerSentEvent(data: "2")]),
        Row(lines: ["data: unterminated"], events: []),
        Row(lines: ["retry: 10", "unknown", ""], events: []),
    ]

    @Test(arguments: rows)
    func serverSentEvents(row: Row) {
        var p = ServerSentEventParser()
        var got = row.lines.compactMap { p.feed($0) }
        if let last = p.finish() { got.append(last) }
        #expect(got == row.events)
    }

    @Test func streamsLinesAndEventsAsTheyArrive() async throws {
        let server = try LoopbackServer()
        let client = HTTPClient()
        let stream = try await client.stream(HTTPRequest(url: server.baseURL + "/lines?n=40&delay_ms=2"))
        #expect(stream.status == 200)
        var lines: [String] = []
        for try await line in stream.lines() { lines.append(line) }
        #expect(lines == (0..<40).map { "line \($0) ünïcode" })

        let sse = try await client.stream(HTTPRequest(url: server.baseURL + "/sse?n=5"))
        var data: [String] = []
        for try await event in sse.events() { data.append(event.data) }
        #expect(data == (0..<5).map { "{\"i\": \($0)}" } + ["[DONE]"])
    }

    @Test func aTruncatedStreamIsAnErrorAndAnAbandonedOneIsAborted() async throws {
        let server = try LoopbackServer()
        let client = HTTPClient()
        let broken = try await client.stream(HTTPRequest(url: server.baseURL + "/lines?n=5&truncate=1"))
        var seen = 0
        do {
            for try await _ in broken.lines() { seen += 1 }
            Issue.record("a truncated chunked body must fail")
        } catch let e as HTTPError {
            #expect(e.code == .transport)
        }
        #expect(seen == 5)
        // Stop reading after 3 of many slow lines: the transfer is aborted, not drained.
        let long = try await client.stream(HTTPRequest(url: server.baseURL + "/lines?n=1000&delay_ms=20"))
        var taken = 0
        for try await _ in long.lines() {
            taken += 1
            if taken == 3 { break }
        }
        #expect(taken == 3)
        // The client still works.
        let again = try await client.stream(HTTPRequest(url: server.baseURL + "/lines?n=2"))
        var n = 0
        for try await _ in again.lines() { n += 1 }
        #expect(n == 2)
    }
}
