import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The PDF worker process's side: reads requests on standard input, answers on standard
/// output (one socket, which Quiver passes as both), one document at a time, until the
/// input closes. Poppler runs only here, so a PDF that crashes or hangs it costs this
/// process, which Quiver kills and replaces, and never the application.
///
/// An application that parses PDFs either ships the `quiver-pdf-worker` executable beside
/// its own, or serves from its own binary when called with an argument it chooses:
///
/// ```swift
/// // At the top of main.swift, before anything else runs:
/// if CommandLine.arguments.dropFirst().first == "pdf-worker" { PDFWorker.serve() }
/// // … and parse with PDFParser(options: .init(worker: .currentExecutable(arguments: ["pdf-worker"])))
/// ```
public enum PDFWorker {
    /// The environment variable that makes the worker obey fault markers in a PDF
    /// (`%QuiverFault:crash`, `%QuiverFault:hang`), for tests of crash and hang handling.
    /// Without it the markers mean nothing.
    public static let faultsVariable = "QUIVER_PDF_WORKER_FAULTS"

    /// Serves requests on standard input and output until standard input closes, then
    /// exits the process.
    public static func serve() -> Never {
        watchParent()
        var channel = WorkerChannel(readFD: 0, writeFD: 1)
        let faults = ProcessInfo.processInfo.environment[faultsVariable] == "1"
        while true {
            var request: WorkerFrame?
            do {
                request = try channel.receive()
            } catch {
                exit(0)  // Quiver closed its end (or went away): nothing more to do
            }
            guard let received = request else { exit(0) }
            let frames = answer(received, faults: faults)
            request = nil  // poppler has its own copy of the PDF now
            do {
                // Pages are small: many leave in one write (fewer system calls and wake-ups).
                for frame in frames { try channel.enqueue(frame) }
                try channel.flush()
            } catch {
                exit(0)
            }
        }
    }

    /// Ends this process when the process that started it is gone: a closed socket ends
    /// a worker that is waiting, but not one stuck inside poppler on a hostile file whose
    /// parent (the one that would have killed it at the time limit) was killed itself.
    private static func watchParent() {
        let parent = getppid()
        Thread.detachNewThread {
            while true {
                sleep(1)
                // Reparented (to init or a subreaper): the parent died. `_exit`, not `exit`:
                // the main thread may be inside poppler.
                if getppid() != parent { _exit(3) }
            }
        }
    }

    /// The frames that answer `request`, produced lazily so that pages stream: only one
    /// page's text is held at a time.
    static func answer(_ request: WorkerFrame, faults: Bool) -> AnyIterator<WorkerFrame> {
        guard let (passwords, pdf) = request.decodeRequest() else {
            return AnyIterator([WorkerFrame.failure(.badRequest, "a malformed request")].makeIterator())
        }
        if faults { injectFault(pdf) }
        let document: PopplerDocument
        do {
            document = try PopplerDocument(bytes: pdf, passwords: passwords)
        } catch {
            switch error {
            case .encrypted: return AnyIterator([WorkerFrame.failure(.encrypted, "encrypted")].makeIterator())
            case .damaged(let message): return AnyIterator([WorkerFrame.failure(.damaged, message)].makeIterator())
            }
        }
        let pages = document.pageCount
        var next = -1
        return AnyIterator {
            defer { next += 1 }
            if next == -1 { return .info(pages: pages, title: document.title, author: document.author) }
            if next < pages { return document.withText(ofPage: next) { .page(next, utf8: $0) } }
            return next == pages ? .done : nil
        }
    }

    /// For tests: crash or hang when the PDF says so (only with `faultsVariable` set).
    private static func injectFault(_ pdf: ArraySlice<UInt8>) {
        let head = String(decoding: pdf.prefix(1024), as: UTF8.self)
        if head.contains("%QuiverFault:crash") {
            // The default action, not the Swift runtime's backtracer: a crash as poppler's would be.
            signal(SIGSEGV, SIG_DFL)
            raise(SIGSEGV)
        }
        if head.contains("%QuiverFault:hang") {
            while true { sleep(1000) }
        }
    }
}
