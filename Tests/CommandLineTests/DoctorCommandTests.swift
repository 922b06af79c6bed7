import Foundation
import Ingest
import TestSupport
import Testing
import VectorStore

/// `quiver doctor`, and the BLAS core choice as the built `quiver` makes it in a fresh
/// process under each kind of environment (OpenBLAS reads its variable only at load).
@Suite struct DoctorCommandTests {
    static func doctor(_ environment: [String: String], store: String = "/nonexistent/quiver-store") throws -> [String: Any] {
        let r = try runProduct(["doctor", "--json", "--no-checksum", "--store", store], environment: environment)
        #expect(r.status == 0, "\(r.err)")
        let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        return try #require(object, "doctor --json printed \(r.out)")
    }

    static func blas(_ report: [String: Any]) -> [String: Any] { report["blas"] as? [String: Any] ?? [:] }

    /// With OPENBLAS_CORETYPE unset (or empty), the core comes from the CPU and the loaded
    /// library reports it.
    @Test func coreIsChosenFromTheCPU() throws {
        for value in ["", " "] {
            let report = try Self.doctor(["OPENBLAS_CORETYPE": value])
            let blas = Self.blas(report)
            let best = OpenBLASCore.best(for: CPUInfo.current)
            #expect(blas["best_core_for_cpu"] as? String == best)
            if best != nil {
                #expect(blas["choice"] as? String == BLASStatus.Choice.chosenFromCPU.rawValue, "\(blas)")
                #expect(blas["core"] as? String == best, "\(blas)")
            }
            #expect((blas["configuration"] as? String)?.hasPrefix("OpenBLAS") == true)
            #expect(blas["library_threads_per_call"] as? Int == 1)
            // OpenBLAS's idle worker threads (its pthreads build starts them on load) are
            // stopped rather than left spinning.
            if blas["threading"] as? String == "pthreads" { #expect(blas["idle_workers_stopped"] as? Bool == true, "\(blas)") }
            let cpu = report["cpu"] as? [String: Any] ?? [:]
            #expect(cpu["features"] as? [String] == CPUInfo.current.features.names)
            let store = report["store"] as? [String: Any] ?? [:]
            #expect(store["exists"] as? Bool == false)
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent/quiver-store"))
        }
    }

    /// A runnable core the user sets is respected.
    @Test func userSettingIsRespected() throws {
        let blas = Self.blas(try Self.doctor(["OPENBLAS_CORETYPE": "Prescott"]))
        #expect(blas["choice"] as? String == BLASStatus.Choice.userSetting.rawValue, "\(blas)")
        #expect(blas["core"] as? String == "Prescott")
        #expect((blas["environment"] as? [String: Any])?["OPENBLAS_CORETYPE"] as? String == "Prescott")
    }

    /// A core the CPU cannot run (OpenBLAS would die of an illegal instruction at its first
    /// call) is replaced, and the local model's sgemm runs.
    @Test func unrunnableUserSettingIsReplaced() throws {
        let cpu = CPUInfo.current
        guard let best = OpenBLASCore.best(for: cpu),
            let unrunnable = ["SkylakeX", "Cooperlake", "SapphireRapids"].first(where: { OpenBLASCore.missing(for: $0, on: cpu) != nil })
        else { return }  // this CPU runs every core Quiver knows
        let environment = ["OPENBLAS_CORETYPE": unrunnable]
        let blas = Self.blas(try Self.doctor(environment))
        #expect(blas["choice"] as? String == BLASStatus.Choice.userSettingReplaced.rawValue, "\(blas)")
        #expect(blas["core"] as? String == best)
        #expect((blas["reason"] as? String)?.contains("illegal instruction") == true)

        // The local model runs sgemm at once: with the user's core it would die (status 132).
        guard LocalModel.isInstalled() else { return }  // scripts/setup.sh installs it; CI runs setup
        let embed = try runProduct(["embed", "x", "--embedder", "local"], environment: environment)
        #expect(embed.status == 0, "\(embed.err)")
    }

    /// Without OpenBLAS, the portable loops run the local model and give its vectors.
    @Test func portableKernelsStandInWithoutOpenBLAS() throws {
        let environment = ["QUIVER_BLAS_LIBRARY": "/nonexistent/libopenblas.so.0"]
        let blas = Self.blas(try Self.doctor(environment))
        #expect(blas["choice"] as? String == BLASStatus.Choice.portableFallback.rawValue, "\(blas)")
        #expect(blas["core"] is NSNull && blas["library"] is NSNull)
        #expect((blas["reason"] as? String)?.contains("/nonexistent/libopenblas.so.0") == true)
        guard LocalModel.isInstalled() else { return }  // scripts/setup.sh installs it; CI runs setup
        let text = "The lighthouse keeper rowed out to the wreck."
        let portable = try runProduct(["embed", text, "--embedder", "local", "--json"], environment: environment)
        let native = try runProduct(["embed", text, "--embedder", "local", "--json"])
        #expect(portable.status == 0 && native.status == 0, "\(portable.err) \(native.err)")
        func vector(_ out: String) -> [Double] {
            ((try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any])?["vector"] as? [Double] ?? []
        }
        let (a, b) = (vector(portable.out), vector(native.out))
        #expect(a.count == 384 && b.count == 384)
        #expect(zip(a, b).map { $0 * $1 }.reduce(0, +) > 0.9999)
    }

    /// The text report names the parts a bug report needs, and a real store's format.
    @Test func textReport() throws {
        let dir = TemporaryDirectory("quiver-doctor-text")
        defer { dir.remove() }
        _ = try Store(path: dir.path).createCollection("docs", dimension: 4, metric: .cosine)
        let r = try runProduct(["doctor", "--no-checksum", "--store", dir.path])
        #expect(r.status == 0, "\(r.err)")
        for label in ["cpu", "features", "blas", "version", "core", "threads", "model", "store"] {
            #expect(r.out.split(separator: "\n").contains { $0.hasPrefix(label) || $0.hasPrefix("  " + label) }, "\(label) in \(r.out)")
        }
        #expect(
            r.out.contains("format version 1 (this Quiver: \(Store.supportedFormatVersion)), 1 collections"))
    }
}
