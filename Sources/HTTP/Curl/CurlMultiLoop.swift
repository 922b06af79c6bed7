import CCurl
import Foundation
import QuiverCore

/// Drives async transfers: one curl multi handle on a thread Quiver owns. Callers hand
/// transfers over through a mutex-guarded inbox and wake the loop; the loop adds them,
/// runs curl, and resumes each caller's continuation when its transfer ends. Connections
/// live in the multi handle's pool and are reused across transfers.
///
/// `@unchecked Sendable`: `multi` and `active` are touched only by the loop thread;
/// callers touch only `inbox` (under its mutex) and `curl_multi_wakeup`, which libcurl
/// documents as callable from any thread.
final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = PosixMutex<[Command]>([])
    private let stopping = PosixMutex(false)
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// Returns easy handles for reuse once their transfer is over.
    private let recycle: @Sendable (UnsafeMutableRawPointer) -> Void

    init(maxConnectionsPerHost: Int, recycle: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        _ = CurlRuntime.initialized
        guard let m = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multi = m
        self.recycle = recycle
        _ = quiver_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        _ = quiver_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        // The thread holds the loop until it exits; callers hold it too.
        let thread = Thread { [self] in run() }
        thread.name = "quiver.http"
        thread.start()
    }

    /// Starts `transfer`; its continuation is resumed when it ends.
    func start(_ transfer: CurlTransfer) {
        inbox.withLock { $0.append(.add(transfer)) }
        curl_multi_wakeup(multi)
    }

    /// Aborts `transfer` if it is still running.
    func cancel(_ transfer: CurlTransfer) {
        inbox.withLock { $0.append(.cancel(transfer)) }
        curl_multi_wakeup(multi)
    }

    /// Ends the loop: running transfers fail as cancelled, the thread exits.
    func shutdown() {
        stopping.withLock { $0 = true }
        curl_multi_wakeup(multi)
    }

    private func run() {
        var running: Int32 = 0
        while !stopping.withLock({ $0 }) {
            let commands = inbox.withLock { box -> [Command] in
                defer { box.removeAll() }
                return box
            }
            for command in commands {
                switch command {
                case .add(let t):
                    if t.cancelled {
                        finish(t, code: CURLE_ABORTED_BY_CALLBACK, added: false)
                    } else if curl_multi_add_handle(multi, t.easy) == CURLM_OK {
                        active[t.easy] = t
                    } else {
                        finish(t, code: CURLE_FAILED_INIT, added: false)
                    }
                case .cancel(let t):
                    t.cancelled = true
                    if active[t.easy] === t { finish(t, code: CURLE_ABORTED_BY_CALLBACK, added: true) }
                }
            }
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let t = active[easy]
                else { continue }
                finish(t, code: message.pointee.data.result, added: true)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        for command in inbox.withLock({ $0 }) {
            if case .add(let t) = command {
                t.cancelled = true
                finish(t, code: CURLE_ABORTED_BY_CALLBACK, added: false)
            }
        }
        for t in Array(active.values) {
            t.cancelled = true
            finish(t, code: CURLE_ABORTED_BY_CALLBACK, added: true)
        }
    }

    /// Only when no caller can still call `curl_multi_wakeup` (they all hold the loop).
    deinit {
        curl_multi_cleanup(multi)
    }

    private func finish(_ t: CurlTransfer, code: CURLcode, added: Bool) {
        if added {
            curl_multi_remove_handle(multi, t.easy)
            active[t.easy] = nil
        }
        let result = t.result(code)
        if let sink = t.streaming {
            sink.finish(t, result)
            t.streaming = nil
        }
        let continuation = t.continuation
        t.continuation = nil
        recycle(t.easy)
        continuation?.resume(with: result)
    }
}
