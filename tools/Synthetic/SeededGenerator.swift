/// SplitMix64: a fast, seeded, reproducible generator for synthetic data in the demo, the
/// benchmarks and the tests (`SystemRandomNumberGenerator` is a syscall per call).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform component in -1...1 (24 random bits; cheaper than `Float.random`).
    public mutating func component() -> Float {
        Float(next() >> 40) / Float(1 << 23) - 1
    }

    /// A vector of uniform components in -1...1.
    public mutating func vector(_ dim: Int) -> [Float] {
        (0..<dim).map { _ in component() }
    }

    /// A uniform vector scaled to unit length.
    public mutating func unitVector(_ dim: Int) -> [Float] {
        var v = vector(dim)
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in v.indices { v[i] /= norm }
        return v
    }
}
