import Foundation

/// The `main` of a fuzz target. Built with `-DQUIVER_LIBFUZZER` (and `-sanitize=fuzzer`),
/// it hands the command line to libFuzzer, which calls `body` with each input; otherwise it
/// runs `body` once with each file named on the command line (a replay, to reproduce a
/// crash without the fuzzer).
///
/// SwiftPM links an executable target's `main` to its `@main` type (`--defsym`), which
/// wins over libFuzzer's own `main`: this one calls `LLVMFuzzerRunDriver`, libFuzzer's
/// entry for programs that keep their `main`. libFuzzer's `main` is still linked and names
/// `LLVMFuzzerTestOneInput`, so that is defined too, as the same callback.
public enum FuzzDriver {
    /// Runs the fuzzer or the replay, then exits.
    public static func main(name: String, _ body: @escaping ([UInt8]) -> Void) -> Never {
        #if QUIVER_LIBFUZZER
            target = body
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
        #else
            let paths = CommandLine.arguments.dropFirst()
            if paths.isEmpty {
                print("usage: \(name) INPUT… (replays inputs; scripts/fuzz.sh builds the fuzzer)")
                exit(2)
            }
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else {
                    print("\(name): cannot read \(path)")
                    exit(1)
                }
                body([UInt8](data))
                print("ok \(path)")
            }
            exit(0)
        #endif
    }

    #if QUIVER_LIBFUZZER
        /// The target's body: set once, before libFuzzer starts, and only read after.
        nonisolated(unsafe) static var target: ([UInt8]) -> Void = { _ in }
    #endif
}

#if QUIVER_LIBFUZZER
    /// The fuzz target libFuzzer calls with each input.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        FuzzDriver.target(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    /// libFuzzer's driver (compiler-rt `FuzzerInterface.h`):
    /// `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`.
    /// Only pointers and C ints, which Swift passes as C does.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt
#endif
