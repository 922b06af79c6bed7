import Foundation
import TestSupport
import Testing

@testable import VectorStore

/// The kernel core Quiver asks OpenBLAS for: chosen from CPU features given as fixtures
/// (so the choice is tested whatever CPU runs the tests), decoded from cpuid registers,
/// and reported back by the library that was actually loaded.
@Suite struct BLASTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/cpus")

    static func fixture(_ name: String) throws -> CPUInfo {
        let text = try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
        return try #require(CPUInfo(procCPUInfo: text), "\(name) is not a /proc/cpuinfo stanza")
    }

    /// Every fixture CPU gets the core listed in `expected-cores.txt`.
    @Test func coreChosenFromFeatureFixtures() throws {
        let table = try String(contentsOf: Self.fixtures.appendingPathComponent("expected-cores.txt"), encoding: .utf8)
        var checked = 0
        for line in table.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else { continue }
            let cpu = try Self.fixture(String(parts[0]))
            #expect(OpenBLASCore.best(for: cpu) == String(parts[1]), "\(parts[0]): \(cpu.features.names)")
            // Whatever is chosen, the CPU can run it.
            #expect(OpenBLASCore.missing(for: String(parts[1]), on: cpu) == nil, "\(parts[0])")
            checked += 1
        }
        #expect(checked == 12)
    }

    /// The fixtures' own facts come through the /proc/cpuinfo parser.
    @Test func procCPUInfoParsing() throws {
        let xeon = try Self.fixture("intel-xeon-family6-model207.cpuinfo")
        #expect(xeon.vendor == "GenuineIntel" && xeon.family == 6 && xeon.model == 207 && xeon.stepping == 2)
        #expect(xeon.features.isSuperset(of: [.avx2, .fma, .avx512bf16, .avx512fp16, .avx512vnni, .amxTile, .avxvnni]))
        #expect(xeon.features.isSuperset(of: CPUFeatures.avx512Common))
        let zen3 = try Self.fixture("amd-epyc-zen3.cpuinfo")
        #expect(zen3.isAMD && zen3.family == 25 && zen3.features.contains(.sse3))  // from "pni"
        #expect(!zen3.features.contains(.avx512f))
    }

    /// A core the CPU cannot run is named with what it lacks; a runnable or unknown one is not.
    @Test func unsupportedCoresAreDetected() throws {
        let zen3 = try Self.fixture("amd-epyc-zen3.cpuinfo")
        #expect(OpenBLASCore.missing(for: "SkylakeX", on: zen3) == ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"])
        #expect(OpenBLASCore.missing(for: "skylakex", on: zen3) != nil)  // OpenBLAS ignores case
        #expect(OpenBLASCore.missing(for: "Cooperlake", on: zen3)?.contains("avx512_bf16") == true)
        #expect(OpenBLASCore.missing(for: "Haswell", on: zen3) == nil)
        #expect(OpenBLASCore.missing(for: "Prescott", on: zen3) == nil)
        #expect(OpenBLASCore.missing(for: "NoSuchCore", on: zen3) == nil)
        let skylake = try Self.fixture("intel-xeon-skylake-sp.cpuinfo")
        #expect(OpenBLASCore.missing(for: "Cooperlake", on: skylake) == ["avx512_bf16"])
        #expect(OpenBLASCore.missing(for: "SkylakeX", on: skylake) == nil)
        #expect(OpenBLASCore.best(for: CPUInfo(vendor: "", family: 0, model: 0, features: [])) == nil)
    }

    /// cpuid registers of a family 6 model 207 Xeon, decoded with three XCR0 values: the
    /// features the OS does not save registers for do not count.
    @Test func cpuidDecodingRespectsTheOSRegisterState() {
        func bits(_ list: [UInt32]) -> UInt32 { list.reduce(0) { $0 | (1 << $1) } }
        let leaves: [UInt32: (UInt32, UInt32, UInt32, UInt32)] = [
            // max leaf 0x1F; "GenuineIntel" in ebx, edx, ecx.
            0: (0x1F, 0x756E_6547, 0x6C65_746E, 0x4965_6E69),
            // family 6, model 0xCF (extended model 0xC), stepping 2; sse3 ssse3 fma sse4.1 sse4.2 osxsave avx f16c.
            1: (0x000C_06F2, 0, bits([0, 9, 12, 19, 20, 27, 28, 29]), 0),
            // avx2 avx512f/dq/cd/bw/vl; avx512_vnni; amx_bf16 avx512_fp16 amx_tile amx_int8.
            7: (1, bits([5, 16, 17, 28, 30, 31]), bits([11]), bits([22, 23, 24, 25])),
            0x8000_0000: (0x8000_0004, 0, 0, 0),
        ]
        func cpuid(_ leaf: UInt32, _ subleaf: UInt32) -> (UInt32, UInt32, UInt32, UInt32)? {
            if leaf == 7 && subleaf == 1 { return (bits([4, 5]), 0, 0, 0) }  // avx_vnni, avx512_bf16
            if leaf >= 0x8000_0002 && leaf <= 0x8000_0004 {
                // "Test CPU" then zero padding, 16 bytes per leaf.
                return leaf == 0x8000_0002 ? (0x7473_6554, 0x5550_4320, 0, 0) : (0, 0, 0, 0)
            }
            return leaves[leaf]
        }
        let full = CPUInfo.decode(cpuid: cpuid, xcr0: 0x6_00E7)
        #expect(full.vendor == "GenuineIntel" && full.brand == "Test CPU")
        #expect(full.family == 6 && full.model == 207 && full.stepping == 2)
        #expect(full.features.isSuperset(of: [.avx512bf16, .avx512fp16, .avx512vnni, .amxTile, .amxBF16, .avxvnni]))
        #expect(OpenBLASCore.best(for: full) == "Cooperlake")
        // The OS saves YMM but not the AVX-512 or AMX state.
        let ymm = CPUInfo.decode(cpuid: cpuid, xcr0: 0x7)
        #expect(ymm.features.contains(.avx2) && !ymm.features.contains(.avx512f) && !ymm.features.contains(.amxTile))
        #expect(OpenBLASCore.best(for: ymm) == "Haswell")
        // No AVX state at all.
        let sse = CPUInfo.decode(cpuid: cpuid, xcr0: 0x3)
        #expect(!sse.features.contains(.avx) && sse.features.contains(.sse42))
        #expect(OpenBLASCore.best(for: sse) == "Nehalem")
        // AMD's family: base 0xF plus extended 0xA.
        let amd = CPUInfo.decode(
            cpuid: { leaf, _ in
                leaf == 0 ? (0x10, 0x6874_7541, 0x444D_4163, 0x6974_6E65) : leaf == 1 ? (0x00A0_0F11, 0, 0, 0) : nil
            }, xcr0: 0)
        #expect(amd.vendor == "AuthenticAMD" && amd.family == 25 && amd.model == 1 && amd.stepping == 1)
    }

    /// cpuid as Quiver reads it agrees with the kernel's /proc/cpuinfo on this machine.
    @Test func currentCPUMatchesProcCPUInfo() throws {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8), let kernel = CPUInfo(procCPUInfo: text),
            !kernel.vendor.isEmpty
        else { return }  // not x86 Linux: nothing to compare
        let current = CPUInfo.current
        #expect(current.vendor == kernel.vendor && current.family == kernel.family && current.model == kernel.model)
        #expect(current.features == kernel.features, "cpuid \(current.features.names) vs /proc/cpuinfo \(kernel.features.names)")
    }

    /// The library that was loaded reports the core Quiver chose (or the user's, when set
    /// and runnable): `openblas_get_corename` is asked, not the choice repeated.
    @Test func loadedLibraryRunsTheChosenCore() throws {
        let status = BLAS.load()
        #expect(status.choice != .portableFallback, "\(status.reason)")
        #expect(status.choice != .alreadyLoaded, "nothing links OpenBLAS: Quiver loads it")
        let core = try #require(status.core)
        let user = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? ""
        if !user.isEmpty, OpenBLASCore.missing(for: user, on: status.cpu) == nil,
            OpenBLASCore.requirements(of: user) != nil
        {
            #expect(status.choice == .userSetting)
            #expect(core.lowercased() == user.lowercased())
        } else if user.isEmpty, let best = OpenBLASCore.best(for: status.cpu) {
            #expect(status.choice == .chosenFromCPU)
            #expect(core == best, "\(status.reason)")
        }
        #expect(status.configuration?.contains("OpenBLAS") == true)
        #expect(status.libraryThreads == 1)
        // The variable is restored for child processes.
        #expect((ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "") == user)
    }

    /// OpenBLAS's worker threads (idle at one thread per call) are stopped once it is
    /// loaded; a caller that asks for two threads later gets them back, and the products
    /// stay right with two threads and again with one. Runs in a process of its own: it
    /// changes OpenBLAS's thread count for the whole process.
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func idleWorkerThreadsStopAndComeBackWhenAsked() throws {
        let status = BLAS.load()
        if status.threading == "pthreads" && status.choice != .alreadyLoaded {
            #expect(status.idleWorkersStopped, "\(status.reason)")
        }
        var rng = SeededGenerator(seed: 3)
        let (m, n, k) = (256, 192, 384)  // large enough for OpenBLAS to split over threads
        let a = (0..<(m * k)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        let b = (0..<(n * k)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        var expected = [Float](repeating: 0, count: m * n)
        PortableBLAS.sgemm(
            Int32(cblasRowMajor), Int32(cblasNoTrans), Int32(cblasTrans), Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
            Int32(k), 0, &expected, Int32(n))
        for threads in [2, 1] {
            BLAS.setLibraryThreads(threads)
            var c = [Float](repeating: 0, count: m * n)
            BLAS.sgemm(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n)
            let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-3, "\(threads) threads: off by \(worst)")
        }
        #expect(BLAS.status.libraryThreads == 1)
    }

    /// The portable loops (used when OpenBLAS is missing) compute what OpenBLAS computes,
    /// for every transpose combination, with row strides wider than the rows.
    @Test func portableKernelsAgreeWithOpenBLAS() throws {
        BLAS.load()
        var rng = SystemRandomNumberGenerator()
        let (m, n, k) = (7, 5, 11)
        let (lda, ldb, ldc) = (13, 17, 9)
        let a = (0..<(max(m, k) * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<(max(n, k) * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            var expected = [Float](repeating: 0.5, count: m * ldc)
            var actual = expected
            BLAS.sgemm(
                transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1.5, a: a, lda: lda, b: b, ldb: ldb, beta: 0.25,
                c: &expected, ldc: ldc)
            PortableBLAS.sgemm(
                Int32(cblasRowMajor), ta ? Int32(cblasTrans) : Int32(cblasNoTrans), tb ? Int32(cblasTrans) : Int32(cblasNoTrans),
                Int32(m), Int32(n), Int32(k), 1.5, a, Int32(lda), b, Int32(ldb), 0.25, &actual, Int32(ldc))
            for i in 0..<(m * ldc) { #expect(abs(expected[i] - actual[i]) < 1e-4, "ta \(ta) tb \(tb) at \(i)") }
        }
        var y1 = [Float](repeating: 0, count: m)
        var y2 = y1
        BLAS.sgemv(m: m, n: k, alpha: 2, a: a, x: b, y: &y1)
        PortableBLAS.sgemv(Int32(cblasRowMajor), Int32(cblasNoTrans), Int32(m), Int32(k), 2, a, Int32(k), b, 1, 0, &y2, 1)
        for i in 0..<m { #expect(abs(y1[i] - y2[i]) < 1e-4) }
        #expect(abs(BLAS.sdot(a, b, count: k) - PortableBLAS.sdot(Int32(k), a, 1, b, 1)) < 1e-4)
    }
}

private let cblasRowMajor = 101
private let cblasNoTrans = 111
private let cblasTrans = 112
