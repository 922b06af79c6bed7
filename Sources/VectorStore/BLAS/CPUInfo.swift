import COpenBLAS
import Foundation

/// The vector instruction sets of a CPU that BLAS kernels care about, as the operating
/// system lets programs use them: an AVX-512 CPU whose kernel does not save the ZMM
/// registers has no `avx512f` here.
public struct CPUFeatures: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: UInt64
    /// Features from raw bits.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// SSE3 (`pni` in /proc/cpuinfo).
    public static let sse3 = CPUFeatures(rawValue: 1 << 0)
    /// Supplemental SSE3.
    public static let ssse3 = CPUFeatures(rawValue: 1 << 1)
    /// SSE4.1.
    public static let sse41 = CPUFeatures(rawValue: 1 << 2)
    /// SSE4.2.
    public static let sse42 = CPUFeatures(rawValue: 1 << 3)
    /// AVX (256-bit floating point).
    public static let avx = CPUFeatures(rawValue: 1 << 4)
    /// Fused multiply-add (FMA3).
    public static let fma = CPUFeatures(rawValue: 1 << 5)
    /// Half-precision conversion (F16C).
    public static let f16c = CPUFeatures(rawValue: 1 << 6)
    /// AVX2.
    public static let avx2 = CPUFeatures(rawValue: 1 << 7)
    /// AVX-512 Foundation.
    public static let avx512f = CPUFeatures(rawValue: 1 << 8)
    /// AVX-512 doubleword and quadword instructions.
    public static let avx512dq = CPUFeatures(rawValue: 1 << 9)
    /// AVX-512 conflict detection.
    public static let avx512cd = CPUFeatures(rawValue: 1 << 10)
    /// AVX-512 byte and word instructions.
    public static let avx512bw = CPUFeatures(rawValue: 1 << 11)
    /// AVX-512 vector length extensions.
    public static let avx512vl = CPUFeatures(rawValue: 1 << 12)
    /// AVX-512 vector neural network instructions (int8 dot products).
    public static let avx512vnni = CPUFeatures(rawValue: 1 << 13)
    /// AVX-512 bfloat16 instructions.
    public static let avx512bf16 = CPUFeatures(rawValue: 1 << 14)
    /// AVX-512 half-precision arithmetic.
    public static let avx512fp16 = CPUFeatures(rawValue: 1 << 15)
    /// AVX-VNNI (the 256-bit int8 dot products of CPUs without AVX-512).
    public static let avxvnni = CPUFeatures(rawValue: 1 << 16)
    /// AMX tiles.
    public static let amxTile = CPUFeatures(rawValue: 1 << 17)
    /// AMX bfloat16 tile products.
    public static let amxBF16 = CPUFeatures(rawValue: 1 << 18)
    /// AMX int8 tile products.
    public static let amxInt8 = CPUFeatures(rawValue: 1 << 19)

    /// The AVX-512 subset that Skylake-SP and every later AVX-512 CPU have.
    public static let avx512Common: CPUFeatures = [.avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl]

    /// Each feature with its /proc/cpuinfo flag name, in the order `names` lists them.
    public static let all: [(feature: CPUFeatures, name: String)] = [
        (.sse3, "sse3"), (.ssse3, "ssse3"), (.sse41, "sse4_1"), (.sse42, "sse4_2"), (.avx, "avx"), (.fma, "fma"),
        (.f16c, "f16c"), (.avx2, "avx2"), (.avx512f, "avx512f"), (.avx512dq, "avx512dq"), (.avx512cd, "avx512cd"),
        (.avx512bw, "avx512bw"), (.avx512vl, "avx512vl"), (.avx512vnni, "avx512_vnni"), (.avx512bf16, "avx512_bf16"),
        (.avx512fp16, "avx512_fp16"), (.avxvnni, "avx_vnni"), (.amxTile, "amx_tile"), (.amxBF16, "amx_bf16"),
        (.amxInt8, "amx_int8"),
    ]

    /// The features' flag names (as /proc/cpuinfo spells them, `sse3` for its `pni`).
    public var names: [String] { Self.all.filter { contains($0.feature) }.map(\.name) }

    /// Features from /proc/cpuinfo flag names (`pni` counts as `sse3`; unknown names are
    /// ignored). Linux lists AVX and AVX-512 flags only when it saves their registers.
    public init<S: Sequence>(flags: S) where S.Element: StringProtocol {
        var set = CPUFeatures()
        for flag in flags {
            let name = flag == "pni" ? "sse3" : String(flag)
            if let entry = Self.all.first(where: { $0.name == name }) { set.insert(entry.feature) }
        }
        self = set
    }
}

/// The processor Quiver runs on: vendor, model and the vector features it may use.
public struct CPUInfo: Sendable, Equatable {
    /// The cpuid vendor string: `GenuineIntel`, `AuthenticAMD`, `HygonGenuine`, …
    public var vendor: String
    /// The marketing name (`AMD EPYC 7B13`), empty when the CPU gives none.
    public var brand: String
    /// The display family (base family plus extended family).
    public var family: Int
    /// The display model (with the extended model where the vendor uses it).
    public var model: Int
    /// The stepping.
    public var stepping: Int
    /// Usable vector features.
    public var features: CPUFeatures

    /// A CPU description from its parts (fixtures, tests).
    public init(vendor: String, brand: String = "", family: Int, model: Int, stepping: Int = 0, features: CPUFeatures) {
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.stepping = stepping
        self.features = features
    }

    /// True for AMD and Hygon (whose AVX2 CPUs OpenBLAS calls Zen).
    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    /// The CPU this process runs on, read with cpuid (empty features off x86).
    public static let current: CPUInfo = decode(
        cpuid: { leaf, subleaf in
            var r = [UInt32](repeating: 0, count: 4)
            guard quiver_cpuid(leaf, subleaf, &r) != 0 else { return nil }
            return (r[0], r[1], r[2], r[3])
        },
        xcr0: {
            var r = [UInt32](repeating: 0, count: 4)
            guard quiver_cpuid(1, 0, &r) != 0, r[2] & (1 << 27) != 0 else { return 0 }  // OSXSAVE
            return quiver_xgetbv0()
        }())

    /// Decodes cpuid leaves (`cpuid(leaf, subleaf)` gives eax, ebx, ecx, edx, or nil past
    /// the CPU's last leaf) and XCR0 (the register states the OS saves) into a CPUInfo.
    /// AVX features count only when XCR0 has the YMM state, AVX-512 ones only with the
    /// opmask and ZMM states too, AMX only with the tile states.
    public static func decode(cpuid: (UInt32, UInt32) -> (UInt32, UInt32, UInt32, UInt32)?, xcr0: UInt64) -> CPUInfo {
        guard let leaf0 = cpuid(0, 0) else { return CPUInfo(vendor: "", family: 0, model: 0, features: []) }
        let vendor = [leaf0.1, leaf0.3, leaf0.2].flatMap(Self.bytes)
        var info = CPUInfo(vendor: String(decoding: vendor, as: UTF8.self), family: 0, model: 0, features: [])
        var brand: [UInt8] = []
        if let top = cpuid(0x8000_0000, 0), top.0 >= 0x8000_0004 {
            for leaf: UInt32 in 0x8000_0002...0x8000_0004 {
                if let r = cpuid(leaf, 0) { brand += [r.0, r.1, r.2, r.3].flatMap(Self.bytes) }
            }
        }
        info.brand = String(decoding: brand.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard let leaf1 = cpuid(1, 0) else { return info }
        let baseFamily = Int((leaf1.0 >> 8) & 0xF)
        let baseModel = Int((leaf1.0 >> 4) & 0xF)
        info.stepping = Int(leaf1.0 & 0xF)
        info.family = baseFamily == 0xF ? baseFamily + Int((leaf1.0 >> 20) & 0xFF) : baseFamily
        info.model = baseFamily == 0x6 || baseFamily == 0xF ? baseModel | Int((leaf1.0 >> 16) & 0xF) << 4 : baseModel

        let osYMM = xcr0 & 0x6 == 0x6
        let osZMM = osYMM && xcr0 & 0xE0 == 0xE0
        let osTiles = xcr0 & 0x6_0000 == 0x6_0000
        var f = CPUFeatures()
        let ecx1 = leaf1.2
        func bit(_ r: UInt32, _ n: UInt32) -> Bool { r & (1 << n) != 0 }
        if bit(ecx1, 0) { f.insert(.sse3) }
        if bit(ecx1, 9) { f.insert(.ssse3) }
        if bit(ecx1, 19) { f.insert(.sse41) }
        if bit(ecx1, 20) { f.insert(.sse42) }
        if osYMM {
            if bit(ecx1, 28) { f.insert(.avx) }
            if bit(ecx1, 12) { f.insert(.fma) }
            if bit(ecx1, 29) { f.insert(.f16c) }
        }
        if let leaf7 = cpuid(7, 0) {
            let (_, ebx, ecx, edx) = leaf7
            if osYMM && bit(ebx, 5) { f.insert(.avx2) }
            if osZMM {
                if bit(ebx, 16) { f.insert(.avx512f) }
                if bit(ebx, 17) { f.insert(.avx512dq) }
                if bit(ebx, 28) { f.insert(.avx512cd) }
                if bit(ebx, 30) { f.insert(.avx512bw) }
                if bit(ebx, 31) { f.insert(.avx512vl) }
                if bit(ecx, 11) { f.insert(.avx512vnni) }
                if bit(edx, 23) { f.insert(.avx512fp16) }
            }
            if osTiles {
                if bit(edx, 24) { f.insert(.amxTile) }
                if bit(edx, 22) { f.insert(.amxBF16) }
                if bit(edx, 25) { f.insert(.amxInt8) }
            }
            if leaf7.0 >= 1, let leaf71 = cpuid(7, 1) {
                if osYMM && bit(leaf71.0, 4) { f.insert(.avxvnni) }
                if osZMM && bit(leaf71.0, 5) { f.insert(.avx512bf16) }
            }
        }
        info.features = f
        return info
    }

    /// A CPUInfo from the first processor of a /proc/cpuinfo text (fixtures, and a check
    /// of `current` against the kernel's view).
    public init?(procCPUInfo text: String) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, !fields.isEmpty { break }  // the first processor only
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = value }
        }
        guard let flags = fields["flags"], let family = fields["cpu family"].flatMap({ Int($0) }),
            let model = fields["model"].flatMap({ Int($0) })
        else { return nil }
        self.init(
            vendor: fields["vendor_id"] ?? "", brand: fields["model name"] ?? "", family: family, model: model,
            stepping: fields["stepping"].flatMap { Int($0) } ?? 0, features: CPUFeatures(flags: flags.split(separator: " ")))
    }

    private static func bytes(_ word: UInt32) -> [UInt8] {
        [UInt8(word & 0xFF), UInt8((word >> 8) & 0xFF), UInt8((word >> 16) & 0xFF), UInt8(word >> 24)]
    }
}
