import Foundation

/// Threads Quiver owns for blocking work: a job runs on an idle thread, or on a new one
/// when every thread is busy (up to ``maxThreads``; beyond that jobs wait their turn), and
/// a thread left idle for ``idleSeconds`` ends.
///
/// Why not libdispatch's pools: they are shared with the application and the rest of the
/// process, and on Linux they grow slowly or not at all while their threads are blocked.
/// Beside a whole test suite's blocking work, Quiver's async forms waited minutes for a
/// dispatch thread (a conformance check hit its 120 s deadlock guard); an application
/// that keeps dispatch's threads busy would starve them the same way. These threads do
/// nothing but Quiver's jobs.
///
/// `@unchecked Sendable`: all state is guarded by `condition`.
final class OwnThreads: @unchecked Sendable {
    /// The most threads at once.
    let maxThreads: Int
    /// How long a thread waits for a job before it ends.
    let idleSeconds: Double
    private let name: String
    private let condition = NSCondition()
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var idle = 0
    private var threads = 0

    init(name: String, maxThreads: Int = 1024, idleSeconds: Double = 10) {
        self.name = name
        self.maxThreads = maxThreads
        self.idleSeconds = idleSeconds
    }

    /// Runs `job` on one of the threads, soon; never on the caller's.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        let spawn = jobs.count - head > idle && threads < maxThreads
        if spawn { threads += 1 } else { condition.signal() }
        condition.unlock()
        if spawn {
            let thread = Thread { [self] in work() }
            thread.name = name
            thread.start()
        }
    }

    private func work() {
        condition.lock()
        while true {
            if head < jobs.count {
                let job = jobs[head]
                jobs[head] = nil
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: jobs.count <= 1024)
                    head = 0
                }
                condition.unlock()
                job?()
                condition.lock()
                continue
            }
            idle += 1
            let signaled = condition.wait(until: Date(timeIntervalSinceNow: idleSeconds))
            idle -= 1
            if !signaled && head >= jobs.count {
                threads -= 1
                condition.unlock()
                return
            }
        }
    }
}
