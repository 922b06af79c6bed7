import QuiverCore

/// PDF worker processes, started on demand and reused: a parse checks one out (or starts
/// one), and gives it back when the document was read. A worker that crashed, hung past
/// the time limit or broke the protocol is killed and forgotten, and the next parse starts
/// a fresh one. At most `maxIdle` wait between parses; the others are stopped.
///
/// Thread-safe: parses on many threads each use their own worker.
final class WorkerPool: Sendable {
    /// Why a document could not be read through a worker.
    enum Failure: Error, Equatable {
        /// No password opens it.
        case encrypted
        /// Poppler could not read it (damaged, truncated, not a PDF).
        case damaged(String)
        /// The worker died while reading it ("signal 11").
        case crashed(String)
        /// The worker took longer than the time limit, and was killed.
        case timedOut
        /// The worker could not be started.
        case spawn(String)
        /// The worker answered with something that is not the protocol.
        case protocolError(String)
    }

    /// What a worker says about a document before its pages.
    struct Info: Sendable {
        var pages: Int
        var title: String?
        var author: String?
    }

    let command: PDFWorkerCommand
    let maxIdle: Int
    private let idle = PosixMutex<[WorkerProcess]>([])

    init(command: PDFWorkerCommand, maxIdle: Int) {
        self.command = command
        self.maxIdle = max(0, maxIdle)
    }

    /// Reads `pdf` in a worker: `info` once, then `page` for every page in order, on the
    /// calling thread, as the worker sends them (so only the pages not yet consumed are
    /// in flight).
    ///
    /// - Throws: `Failure`; also whatever `info` or `page` throws (the worker is then
    ///   stopped, since it is mid-document).
    func extract(
        _ pdf: [UInt8], passwords: [String], timeLimit: Duration, info: (Info) throws -> Void,
        page: (Int, String) throws -> Void
    ) throws {
        let deadline = ContinuousClock.now.advanced(by: timeLimit)
        let head = WorkerFrame.requestHead(passwords: passwords)
        var retried = false
        while true {
            let (worker, reused) = try checkOut()
            var answered = false
            do {
                try worker.channel.send(.request, parts: [head[...], pdf[...]], deadline: deadline)
                var expected = 0
                var pages = 0
                loop: while true {
                    let frame = try worker.channel.receive(deadline: deadline)
                    answered = true
                    switch frame.kind {
                    case .info:
                        guard let i = frame.decodeInfo() else { throw Failure.protocolError("a malformed info frame") }
                        pages = i.pages
                        try info(Info(pages: i.pages, title: i.title, author: i.author))
                    case .page:
                        guard let (index, text) = frame.decodePage(), index == expected, index < pages else {
                            throw Failure.protocolError("a page out of order")
                        }
                        expected += 1
                        try page(index, text)
                    case .done:
                        guard expected == pages else { throw Failure.protocolError("\(expected) of \(pages) pages") }
                        break loop
                    case .failure:
                        guard let (reason, message) = frame.decodeFailure() else {
                            throw Failure.protocolError("a malformed failure frame")
                        }
                        // The worker read the request and refused the document: it is fine.
                        switch reason {
                        case .encrypted, .damaged:
                            worker.served += 1
                            checkIn(worker)
                            throw reason == .encrypted ? Failure.encrypted : Failure.damaged(message)
                        case .badRequest: throw Failure.protocolError(message)
                        }
                    case .request:
                        throw Failure.protocolError("a request from the worker")
                    }
                }
                worker.served += 1
                checkIn(worker)
                return
            } catch let e as WorkerChannel.Failure {
                switch e {
                case .timedOut:
                    worker.stop()
                    throw Failure.timedOut
                case .closed:
                    let how = worker.exitDescription()
                    // A reused worker that was gone before it answered (killed while idle)
                    // says nothing about this document: once more with a fresh one.
                    if reused && !answered && !retried {
                        retried = true
                        continue
                    }
                    throw Failure.crashed(how)
                case .malformed(let m):
                    worker.stop()
                    throw Failure.protocolError(m)
                case .system(let call, let code):
                    worker.stop()
                    throw Failure.protocolError("\(call) failed with errno \(code)")
                }
            } catch let e as Failure {
                switch e {
                case .encrypted, .damaged: break  // checked in above
                default: worker.stop()
                }
                throw e
            } catch {
                worker.stop()  // the caller's own error, mid-document
                throw error
            }
        }
    }

    private func checkOut() throws(Failure) -> (WorkerProcess, reused: Bool) {
        if let w = idle.withLock({ $0.popLast() }) { return (w, true) }
        return (try WorkerProcess.spawn(command), false)
    }

    private func checkIn(_ worker: WorkerProcess) {
        let extra: WorkerProcess? = idle.withLock { list in
            if list.count < maxIdle {
                list.append(worker)
                return nil
            }
            return worker
        }
        extra?.stop()
    }

    /// Workers waiting for a document.
    var idleCount: Int { idle.withLock { $0.count } }

    /// The process ids of the idle workers (for tests that kill one).
    var idlePIDs: [Int32] { idle.withLock { $0.map(\.pid) } }
}
