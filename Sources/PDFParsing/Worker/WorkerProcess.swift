import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A running PDF worker: its process id and the parent's end of the socket that is its
/// standard input and output. Its standard error goes to /dev/null (poppler complains
/// there about every damaged object).
///
/// `@unchecked Sendable`: a worker moves between threads through the pool's mutex and is
/// used by one parse at a time; nothing else touches it.
final class WorkerProcess: @unchecked Sendable {
    let pid: pid_t
    var channel: WorkerChannel
    /// Documents served so far.
    var served = 0
    private var reaped = false

    private init(pid: pid_t, fd: Int32) {
        self.pid = pid
        channel = WorkerChannel(readFD: fd, writeFD: fd)
    }

    /// The environment variable through which glibc reads its malloc settings at start.
    static let tunablesVariable = "GLIBC_TUNABLES"

    /// The worker's malloc settings, unless its environment sets `GLIBC_TUNABLES` itself:
    /// poppler's text layout allocates and frees small objects for every character and word
    /// of a page, and a thread cache of 2,000 freed chunks per size (glibc keeps 7) serves
    /// most of them without the arena's locking, splitting and merging (poppler's own text
    /// extraction used about 15% less CPU with it here).
    static let allocatorTunables = "glibc.malloc.tcache_count=2000"

    /// The environment a worker started with `command` gets: `inherited` with the command's
    /// entries over it, and `allocatorTunables` unless one of them sets `GLIBC_TUNABLES`.
    static func environment(of command: PDFWorkerCommand, inheriting inherited: [String: String]) -> [String: String] {
        var environment = inherited
        environment.merge(command.environment) { _, new in new }
        if environment[tunablesVariable] == nil { environment[tunablesVariable] = allocatorTunables }
        return environment
    }

    /// Starts `command` with one end of a new socket pair as its standard input and output,
    /// and `allocatorTunables` unless its environment names its own.
    ///
    /// - Throws: a message naming the executable and the failed call.
    static func spawn(_ command: PDFWorkerCommand) throws(WorkerPool.Failure) -> WorkerProcess {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw .spawn("socketpair: \(String(cString: strerror(errno)))")
        }
        let (mine, theirs) = (fds[0], fds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, theirs, 0)
        posix_spawn_file_actions_adddup2(&actions, theirs, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Signals the application ignores or blocks (SIGPIPE often) are the defaults again.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let environment = Self.environment(of: command, inheriting: ProcessInfo.processInfo.environment)
        let argv = ([command.executable] + command.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, command.executable, &actions, &attributes, argv, envp)
        close(theirs)
        guard status == 0 else {
            close(mine)
            throw .spawn("cannot start \(command.executable): \(String(cString: strerror(status)))")
        }
        // Non-blocking: every wait is a poll with the request's deadline.
        _ = fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK)
        return WorkerProcess(pid: pid, fd: mine)
    }

    /// Kills the process (if it still runs) and waits for it: how it ended, for messages
    /// ("signal 11", "exit status 3").
    @discardableResult
    func stop() -> String {
        guard !reaped else { return "stopped" }
        reaped = true
        close(channel.readFD)
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        if signal != 0 { return signal == SIGKILL ? "killed" : "signal \(signal)" }
        return "exit status \((status >> 8) & 0xff)"
    }

    /// How the process ended, once its socket has closed: a worker that crashed is gone
    /// already, so this returns at once; one that closed its socket and still runs is
    /// killed.
    func exitDescription() -> String {
        guard !reaped else { return "stopped" }
        var status: Int32 = 0
        // Give a crashing process a moment to finish dying before it is killed.
        for _ in 0..<200 {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                reaped = true
                close(channel.readFD)
                let signal = status & 0x7f
                return signal != 0 ? "signal \(signal)" : "exit status \((status >> 8) & 0xff)"
            }
            if r < 0 && errno != EINTR { break }
            usleep(5000)
        }
        return stop()
    }

    deinit { stop() }
}
