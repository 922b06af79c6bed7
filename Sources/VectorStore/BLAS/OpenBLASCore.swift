/// Which of OpenBLAS's kernel sets ("cores") a CPU should use.
///
/// OpenBLAS built with `DYNAMIC_ARCH` (Debian's is) picks its core by recognising the CPU
/// model, and a release does not know the CPUs that came after it: Debian bookworm's
/// 0.3.21 runs a current Xeon (family 6, model 207: AVX-512 with BF16) on its SSE3
/// "Prescott" kernels, 4–6× below the machine. Quiver chooses from the CPU's features
/// instead, so a CPU newer than the library still gets the kernels its instructions allow.
public enum OpenBLASCore {
    /// The core for `cpu`: the most capable kernel set whose instructions it has, or nil
    /// off x86 (OpenBLAS's own choice then stands).
    ///
    /// - AVX-512 (F, DQ, CD, BW, VL) with BF16: `Cooperlake`; without BF16: `SkylakeX`.
    /// - AVX2 with FMA: `Zen` on AMD and Hygon, `Haswell` otherwise.
    /// - AVX: `Sandybridge`; SSE4.2: `Nehalem`; SSSE3: `Core2`; else `Prescott`.
    public static func best(for cpu: CPUInfo) -> String? {
        let f = cpu.features
        guard !cpu.vendor.isEmpty else { return nil }
        if f.isSuperset(of: requirements["Cooperlake"]!) { return "Cooperlake" }
        if f.isSuperset(of: requirements["SkylakeX"]!) { return "SkylakeX" }
        if f.isSuperset(of: requirements["Haswell"]!) { return cpu.isAMD ? "Zen" : "Haswell" }
        if f.contains(.avx) { return "Sandybridge" }
        if f.contains(.sse42) { return "Nehalem" }
        if f.contains(.ssse3) { return "Core2" }
        return "Prescott"
    }

    /// The features a named core's kernels execute, or nil for a name Quiver does not know
    /// (OpenBLAS then decides what it means). Names compare case-insensitively, as
    /// OpenBLAS compares them.
    public static func requirements(of core: String) -> CPUFeatures? {
        requirements.first { $0.key.lowercased() == core.lowercased() }?.value
    }

    /// What `core` needs that `cpu` lacks (flag names), or nil when it has them all or the
    /// core is unknown. OpenBLAS does not check a forced core: one the CPU cannot run
    /// stops the process with an illegal instruction at its first kernel call.
    public static func missing(for core: String, on cpu: CPUInfo) -> [String]? {
        guard let needed = requirements(of: core), !cpu.features.isSuperset(of: needed) else { return nil }
        return needed.subtracting(cpu.features).names
    }

    private static let requirements: [String: CPUFeatures] = {
        let avx2: CPUFeatures = [.avx, .avx2, .fma]
        let avx512 = avx2.union(CPUFeatures.avx512Common)
        return [
            "Prescott": [.sse3], "Core2": [.sse3, .ssse3], "Penryn": [.sse3, .ssse3, .sse41],
            "Dunnington": [.sse3, .ssse3, .sse41], "Nehalem": [.sse3, .ssse3, .sse41, .sse42],
            "Sandybridge": [.sse3, .ssse3, .sse41, .sse42, .avx], "Haswell": avx2, "Zen": avx2, "SkylakeX": avx512,
            "Cooperlake": avx512.union(.avx512bf16),
            "SapphireRapids": avx512.union([.avx512bf16, .avx512fp16, .amxTile, .amxBF16]),
        ]
    }()
}
