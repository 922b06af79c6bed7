import Foundation
import Ingest
import Synchronization

/// The index command's progress on stderr: a redrawn bar on a terminal, a plain line every
/// few seconds otherwise.
final class ProgressBar: Sendable {
    private let terminal = isatty(2) != 0
    private let lastDraw = Mutex<Double>(0)
    private let latest = Mutex(IngestProgress())
    private let label: String

    init(label: String) { self.label = label }

    /// Shows `p` (at most 10 times a second on a terminal, every 2 s otherwise).
    func update(_ p: IngestProgress, final: Bool = false) {
        latest.withLock { $0 = p }
        let now = Date().timeIntervalSinceReferenceDate
        let due = lastDraw.withLock { last -> Bool in
            guard final || now - last >= (terminal ? 0.1 : 2) else { return false }
            last = now
            return true
        }
        guard due else { return }
        let fraction = p.documentsTotal > 0 ? Double(p.documents) / Double(p.documentsTotal) : 0
        let eta = p.secondsRemaining.map { final ? "" : " · ETA \(Self.duration($0))" } ?? ""
        let counts =
            "\(p.documents)/\(p.documentsTotal) docs · \(p.chunks) chunks · \(p.embedded) embedded · \(p.written) written · "
            + String(format: "%.0f docs/s, %.0f chunks/s", p.documentsPerSecond, p.chunksPerSecond) + eta
        if terminal {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(label) \(bar) \(counts)\(final ? "\n" : "")".utf8))
        } else {
            FileHandle.standardError.write(Data("\(label): \(counts)\n".utf8))
        }
    }

    /// The last line: the counts so far, every document done, the run's own time.
    func finish(_ report: IngestReport) {
        var p = latest.withLock { $0 }
        p.documents = p.documentsTotal
        p.written = report.chunksWritten
        p.elapsed = report.seconds
        update(p, final: true)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e7 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
