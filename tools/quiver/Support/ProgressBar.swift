import Foundation
import Ingest
import QuiverCore

/// The index command's progress on stderr: a redrawn bar on a terminal, a plain line every
/// few seconds otherwise.
final class ProgressBar: Sendable {
    private let terminal = isatty(2) != 0
    private let lastDraw = PosixMutex<Double>(0)
    private let latest = PosixMutex(IngestProgress())
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
            "\(p.documents)/\(p.documentsTotal) docs · \(Self.short(p.chunks)) chunks · \(Self.short(p.embedded)) embedded · "
            + "\(Self.short(p.written)) written · "
            + String(format: "%.0f docs/s, %.0f chunks/s", p.documentsPerSecond, p.chunksPerSecond) + eta
        if terminal {
            let width = 20
            let filled = max(0, min(width, Int(fraction * Double(width))))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            // One line, never wider than the terminal: a wrapped line would not be redrawn.
            var line = "\(label) \(bar) \(counts)"
            if let columns = Self.columns(), line.count >= columns { line = String(line.prefix(max(10, columns - 2))) + "…" }
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\(final ? "\n" : "")".utf8))
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

    /// The terminal's width in columns, if stderr is one.
    static func columns() -> Int? {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// 1234 → "1234", 12345 → "12.3k", 1234567 → "1.23M".
    static func short(_ n: Int) -> String {
        n < 10_000 ? "\(n)" : n < 1_000_000 ? String(format: "%.1fk", Double(n) / 1e3) : String(format: "%.2fM", Double(n) / 1e6)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e7 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
