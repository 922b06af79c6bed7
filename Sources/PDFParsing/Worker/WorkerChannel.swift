import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Frames over one socket descriptor, with a deadline on every wait: the parent's end of a
/// worker's socket, or the worker's standard input and output.
///
/// Not Sendable: one thread uses a channel at a time (a worker is checked out by one parse).
struct WorkerChannel {
    /// Why a frame could not be moved.
    enum Failure: Error, Equatable {
        /// The other side closed (a worker that crashed or exited).
        case closed
        /// The deadline passed first.
        case timedOut
        /// The other side sent something that is not a frame.
        case malformed(String)
        /// A system call failed.
        case system(String, Int32)
    }

    let readFD: Int32
    let writeFD: Int32
    /// Bytes read and not yet taken as frames start at `start`.
    private var buffer: [UInt8] = []
    private var start = 0
    /// What each read fills, reused.
    private var scratch: [UInt8] = []
    /// Bytes asked of each read.
    static let readSize = 1 << 16

    init(readFD: Int32, writeFD: Int32) {
        self.readFD = readFD
        self.writeFD = writeFD
    }

    /// Frames queued by `enqueue` and not yet written.
    private var outgoing: [UInt8] = []
    /// Queued frames are written once they hold this many bytes.
    static let flushSize = 1 << 16

    /// Queues `frame` to be sent with the frames queued after it, writing the queue once it
    /// holds `flushSize` bytes (a frame that large is written at once, after the queue);
    /// `flush` writes the rest. Many small frames, pages, then leave in a few writes.
    mutating func enqueue(_ frame: WorkerFrame, deadline: ContinuousClock.Instant? = nil) throws(Failure) {
        guard WorkerFrame.headerSize + frame.payload.count < Self.flushSize else {
            try flush(deadline: deadline)
            try send(frame, deadline: deadline)
            return
        }
        outgoing.append(frame.kind.rawValue)
        for i in 0..<4 { outgoing.append(UInt8(truncatingIfNeeded: UInt32(frame.payload.count) >> (8 * UInt32(i)))) }
        outgoing += frame.payload
        if outgoing.count >= Self.flushSize { try flush(deadline: deadline) }
    }

    /// Writes the frames `enqueue` queued.
    mutating func flush(deadline: ContinuousClock.Instant? = nil) throws(Failure) {
        guard !outgoing.isEmpty else { return }
        defer { outgoing.removeAll(keepingCapacity: true) }
        try write(outgoing[...], deadline: deadline)
    }

    /// Sends `frame`, waiting at most until `deadline` for the other side to take it.
    mutating func send(_ frame: WorkerFrame, deadline: ContinuousClock.Instant? = nil) throws(Failure) {
        try send(frame.kind, parts: [frame.payload[...]], deadline: deadline)
    }

    /// Sends one frame whose payload is `parts` one after the other, without joining them
    /// (a request's PDF is not copied).
    mutating func send(_ kind: WorkerFrame.Kind, parts: [ArraySlice<UInt8>], deadline: ContinuousClock.Instant? = nil)
        throws(Failure)
    {
        var header: [UInt8] = [kind.rawValue]
        let n = UInt32(parts.reduce(0) { $0 + $1.count })
        for i in 0..<4 { header.append(UInt8(truncatingIfNeeded: n >> (8 * UInt32(i)))) }
        try write(header[...], deadline: deadline)
        for part in parts { try write(part, deadline: deadline) }
    }

    /// The next frame, waiting at most until `deadline` (nil: for as long as it takes).
    mutating func receive(deadline: ContinuousClock.Instant? = nil) throws(Failure) -> WorkerFrame {
        while buffer.count - start < WorkerFrame.headerSize { try fill(deadline: deadline) }
        guard let (kind, length) = WorkerFrame.header(buffer[start..<(start + WorkerFrame.headerSize)]) else {
            throw .malformed("a frame header of unknown kind or length")
        }
        let total = WorkerFrame.headerSize + length
        while buffer.count - start < total { try fill(deadline: deadline) }
        let frame = WorkerFrame(kind: kind, payload: Array(buffer[(start + WorkerFrame.headerSize)..<(start + total)]))
        start += total
        if start == buffer.count {
            // All consumed: a large request's memory goes back, a small buffer is reused.
            if buffer.capacity > 1 << 20 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
            start = 0
        }
        return frame
    }

    private mutating func fill(deadline: ContinuousClock.Instant?) throws(Failure) {
        try wait(readFD, for: Int16(POLLIN), deadline: deadline)
        // Consumed bytes are dropped only once they are the larger part (no shift per frame).
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: Self.readSize) }
        let (n, error) = scratch.withUnsafeMutableBytes { raw in
            let n = Glibc.read(readFD, raw.baseAddress, raw.count)
            return (n, errno)
        }
        if n > 0 {
            scratch.withUnsafeBufferPointer { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<n])) }
            return
        } else if n == 0 {
            throw .closed
        } else if error != EINTR && error != EAGAIN {
            if error == ECONNRESET { throw .closed }
            throw .system("read", error)
        }
    }

    private func write(_ slice: ArraySlice<UInt8>, deadline: ContinuousClock.Instant?) throws(Failure) {
        // withUnsafeBytes rethrows untyped: carry the typed error out by hand.
        let result: Result<Void, Failure> = slice.withUnsafeBytes { bytes in
            Result { () throws(Failure) in try write(bytes, deadline: deadline) }
        }
        try result.get()
    }

    private func write(_ bytes: UnsafeRawBufferPointer, deadline: ContinuousClock.Instant?) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            try wait(writeFD, for: Int16(POLLOUT), deadline: deadline)
            // MSG_NOSIGNAL: a worker that died is an error here, not a SIGPIPE for the process.
            let n = Glibc.send(writeFD, bytes.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n >= 0 {
                offset += n
            } else if errno == EPIPE || errno == ECONNRESET {
                throw .closed
            } else if errno == ENOTSOCK {
                // The worker's own standard output may be a pipe (a test running it by hand).
                let m = Glibc.write(writeFD, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                guard m >= 0 else { throw .system("write", errno) }
                offset += m
            } else if errno != EINTR && errno != EAGAIN {
                throw .system("send", errno)
            }
        }
    }

    /// Waits until `fd` is ready for `events`, or the deadline passes.
    private func wait(_ fd: Int32, for events: Int16, deadline: ContinuousClock.Instant?) throws(Failure) {
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { throw .timedOut }
                let (s, atto) = left.components
                timeout = Int32(clamping: s * 1000 + atto / 1_000_000_000_000_000 + 1)
            }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, timeout)
            if r > 0 { return }  // ready, or hung up: the read or send says which
            if r == 0 { continue }  // the loop checks the deadline
            if errno != EINTR { throw .system("poll", errno) }
        }
    }
}
