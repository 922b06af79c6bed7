import ArgumentParser
import Foundation
import Ingest
import VectorStore

/// `quiver doctor`: what a bug report needs — the CPU, the BLAS library and the kernel
/// core it runs (and why), thread counts, the local model and the store.
struct Doctor: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the CPU, the BLAS library and core in use (and why), threads, the local model and the store.",
        discussion: """
            Paste its output (or --json) into a bug report. It changes nothing: a missing store or model \
            is reported, not created. Checksumming the model reads its 90 MB once (--no-checksum skips it).
            """)
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "The local model's folder (default: $QUIVER_MODEL_DIR, else the folder scripts/setup.sh fills).")
    var modelDir: String?
    @Flag(inversion: .prefixedNo, help: "Check the model files' SHA-256 against the ones scripts/setup.sh installs.")
    var checksum = true
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        try storeOptions.requireEmbedded("doctor")
        let report = Self.report(store: storeOptions.path, modelDirectory: modelDir ?? LocalModel.defaultDirectory, checksum: checksum)
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(TerminalText.block(Self.text(report)), terminator: "")
        }
    }

    /// The report as a JSON-ready dictionary.
    static func report(store path: String, modelDirectory: String, checksum: Bool) -> [String: Any] {
        let blas = BLAS.status
        let cpu = blas.cpu
        let environment = ProcessInfo.processInfo.environment
        var system = utsname()
        uname(&system)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let variables = ["OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "QUIVER_BLAS_LIBRARY"]
        let systemReport: [String: Any] = ["os": field(system.sysname) + " " + field(system.release), "machine": field(system.machine)]
        let cpuReport: [String: Any] = [
            "vendor": cpu.vendor, "brand": cpu.brand, "family": cpu.family, "model": cpu.model, "stepping": cpu.stepping,
            "features": cpu.features.names, "cores_online": ProcessInfoCores.count,
        ]
        var blasReport: [String: Any] = ["choice": blas.choice.rawValue, "reason": blas.reason]
        blasReport["library"] = blas.library ?? NSNull()
        blasReport["configuration"] = blas.configuration ?? NSNull()
        blasReport["core"] = blas.core ?? NSNull()
        blasReport["requested_core"] = blas.requestedCore ?? NSNull()
        blasReport["best_core_for_cpu"] = OpenBLASCore.best(for: cpu) ?? NSNull()
        blasReport["threading"] = blas.threading ?? NSNull()
        blasReport["library_threads_per_call"] = blas.libraryThreads ?? NSNull()
        blasReport["idle_workers_stopped"] = blas.idleWorkersStopped
        var environmentReport: [String: Any] = [:]
        for name in variables { environmentReport[name] = environment[name] ?? NSNull() }
        blasReport["environment"] = environmentReport
        let threadsReport: [String: Any] = [
            "search": StoreOptions().searchThreads, "local_model": ProcessInfoCores.count,
        ]
        return [
            "system": systemReport, "cpu": cpuReport, "blas": blasReport, "threads": threadsReport,
            "model": modelReport(modelDirectory, checksum: checksum), "store": storeReport(path),
        ]
    }

    private static func modelReport(_ directory: String, checksum: Bool) -> [String: Any] {
        var files: [[String: Any]] = []
        for name in LocalModel.files {
            let path = directory + "/" + name
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
                files.append(["name": name, "present": false])
                continue
            }
            var entry: [String: Any] = [
                "name": name, "present": true, "bytes": size, "expected_sha256": LocalModel.sha256[name] ?? NSNull(),
            ]
            if checksum {
                switch sha256(of: path) {
                case .success(let sum):
                    entry["sha256"] = sum
                    entry["checksum_ok"] = sum == LocalModel.sha256[name]
                case .failure(let error): entry["sha256_error"] = error.message
                }
            }
            files.append(entry)
        }
        return ["name": LocalModel.name, "directory": directory, "installed": LocalModel.isInstalled(in: directory), "files": files]
    }

    private static func storeReport(_ path: String) -> [String: Any] {
        var out: [String: Any] = ["path": path, "supported_format_version": Store.supportedFormatVersion]
        let file = (path as NSString).appendingPathComponent("data.mdb")
        guard FileManager.default.fileExists(atPath: file) else {
            out["exists"] = false
            return out
        }
        out["exists"] = true
        out["file_bytes"] = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? NSNull()
        do {
            let store = try Store(path: path, options: .noCreate)
            out["format_version"] = try store.formatVersion()
            out["collections"] = try store.collections(includingReserved: false).count
        } catch {
            out["error"] = "\(error)"
        }
        return out
    }

    /// The file's SHA-256 by `sha256sum` (coreutils).
    private static func sha256(of path: String) -> Result<String, CLIError> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = ["--", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .failure(CLIError("sha256sum could not run: \(error.localizedDescription)"))
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let sum = String(decoding: data, as: UTF8.self).split(separator: " ").first else {
            return .failure(CLIError("sha256sum failed on \(path)"))
        }
        return .success(String(sum))
    }

    /// The report as aligned text.
    static func text(_ r: [String: Any]) -> String {
        func dict(_ key: String) -> [String: Any] { r[key] as? [String: Any] ?? [:] }
        func show(_ value: Any?) -> String {
            switch value {
            case nil, is NSNull: return "—"
            case let s as String: return s
            default: return "\(value!)"
            }
        }
        var lines: [String] = []
        func line(_ label: String, _ value: String) {
            lines.append(label.padding(toLength: max(14, label.count + 1), withPad: " ", startingAt: 0) + value)
        }
        let system = dict("system")
        line("system", "\(show(system["os"])) \(show(system["machine"]))")
        let cpu = dict("cpu")
        line(
            "cpu",
            "\(show(cpu["brand"])) (\(show(cpu["vendor"])) family \(show(cpu["family"])) model \(show(cpu["model"])) "
                + "stepping \(show(cpu["stepping"]))), \(show(cpu["cores_online"])) cores online")
        line("  features", (cpu["features"] as? [String] ?? []).joined(separator: " "))
        let blas = dict("blas")
        line("blas", show(blas["library"]))
        line("  version", show(blas["configuration"]))
        line("  core", "\(show(blas["core"])) (\(show(blas["choice"]))): \(show(blas["reason"]))")
        line("  best core", show(blas["best_core_for_cpu"]))
        let env = (blas["environment"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
        line("  environment", env.map { "\($0.key)=\($0.value is NSNull ? "(unset)" : show($0.value))" }.joined(separator: " "))
        let threads = dict("threads")
        line(
            "threads",
            "search \(show(threads["search"])), local model \(show(threads["local_model"])), "
                + "OpenBLAS \(show(blas["library_threads_per_call"])) per call (\(show(blas["threading"])) build)")
        let model = dict("model")
        line(
            "model",
            "\(show(model["name"])) in \(show(model["directory"])): \(model["installed"] as? Bool == true ? "installed" : "not installed")")
        for file in model["files"] as? [[String: Any]] ?? [] {
            var status = file["present"] as? Bool == true ? "\(show(file["bytes"])) bytes" : "missing"
            if let ok = file["checksum_ok"] as? Bool {
                status +=
                    ok
                    ? ", sha256 matches setup.sh"
                    : ", sha256 \(show(file["sha256"])) DIFFERS from setup.sh's \(show(file["expected_sha256"]))"
            } else if let error = file["sha256_error"] {
                status += ", \(show(error))"
            }
            line("  " + show(file["name"]), status)
        }
        let store = dict("store")
        if store["exists"] as? Bool == true {
            var s = "\(show(store["path"])): \(show(store["file_bytes"])) bytes"
            if let version = store["format_version"] {
                s += ", format version \(show(version)) (this Quiver: \(show(store["supported_format_version"]))), "
                s += "\(show(store["collections"])) collections"
            }
            if let error = store["error"] { s += ", cannot be opened: \(show(error))" }
            line("store", s)
        } else {
            line("store", "\(show(store["path"])): no store there")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
