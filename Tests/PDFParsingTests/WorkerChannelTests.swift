import Testing

@testable import PDFParsing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct WorkerChannelTests {
    /// Two channels over the ends of a new socket pair.
    static func pair() throws -> (WorkerChannel, WorkerChannel) {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        return (WorkerChannel(readFD: fds[0], writeFD: fds[0]), WorkerChannel(readFD: fds[1], writeFD: fds[1]))
    }

    static func readable(_ channel: WorkerChannel) -> Bool {
        var p = pollfd(fd: channel.readFD, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Queued frames stay queued until they fill `flushSize` or `flush` is called, then
    /// arrive whole and in order; a frame of `flushSize` bytes or more goes out after the
    /// ones queued before it.
    @Test func queuedFramesLeaveTogetherAndInOrder() throws {
        var (worker, parent) = try Self.pair()
        defer {
            close(worker.readFD)
            close(parent.readFD)
        }
        let small = (0..<10).map { WorkerFrame.page($0, text: "page \($0)\nline") }
        for frame in small { try worker.enqueue(frame) }
        #expect(!Self.readable(parent))  // nothing written yet
        try worker.flush()
        #expect(Self.readable(parent))
        for frame in small { #expect(try parent.receive() == frame) }

        let big = WorkerFrame.page(10, text: String(repeating: "lamp ", count: WorkerChannel.flushSize / 5 + 1))
        try worker.enqueue(small[0])
        try worker.enqueue(big)  // written at once, after the queued one
        #expect(try parent.receive() == small[0])
        #expect(try parent.receive() == big)
        #expect(!Self.readable(parent))

        // A queue that reaches flushSize is written without a flush.
        let filler = (0..<(WorkerChannel.flushSize / 1_000 + 1)).map { WorkerFrame.page($0, text: String(repeating: "x", count: 995)) }
        for frame in filler { try worker.enqueue(frame) }
        #expect(Self.readable(parent))
        try worker.flush()
        for frame in filler { #expect(try parent.receive() == frame) }
    }

    @Test func pageBytesAreSentAsTheyAreAndRepairedOnReceipt() throws {
        let bytes: [UInt8] = [0x6C, 0x61, 0x6D, 0x70, 0xFF, 0x0A, 0xC3, 0xA9]
        let frame = bytes.withUnsafeBytes { WorkerFrame.page(7, utf8: $0) }
        #expect(Array(frame.payload.dropFirst(4)) == bytes)
        let page = try #require(frame.decodePage())
        #expect(page.index == 7 && page.text == "lamp\u{FFFD}\né")
    }
}
