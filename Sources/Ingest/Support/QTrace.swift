import Foundation
let qtraceOn = getenv("QTRACE_CLIENT") != nil
func qtrace(_ s: @autoclosure () -> String) {
    guard qtraceOn else { return }
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let line = String(format: "T %.4f ", Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9) + s() + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
