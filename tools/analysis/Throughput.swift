// Analysis throughput on a JSONL corpus ("title" + " " + "text" of each line), single
// thread, next to a same-run reference: a plain pass that lowercases ASCII and splits on
// non-alphanumerics (no stopwords, no stemming, no Unicode).
//
// Not a package target (it would make every build compile it): tools/analysis/throughput.sh
// builds it optimized, with QuiverCore and TextAnalysis as modules of their own, and runs it.
import Foundation
import TextAnalysis

@main
enum Throughput {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        let path = arguments.first ?? "../shared/beir/scifact-train/corpus.jsonl"
        // A second argument runs only the configurations whose name contains it (for profiling).
        let only = arguments.dropFirst().first
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var texts: [String] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
            texts.append("\(object["title"] ?? "") \(object["text"] ?? "")")
        }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let ascii = texts.filter { $0.utf8.allSatisfy { $0 < 0x80 } }.count
        print("\(texts.count) texts, \(bytes) bytes, \(ascii) all-ASCII")

        func measure(_ name: String, _ run: () -> Int) {
            if let only, !only.isEmpty, !name.contains(only) { return }
            var best = (wall: Double.infinity, cpu: Double.infinity)
            var terms = 0
            for _ in 0..<7 {
                let start = (ContinuousClock.now, threadCPUSeconds())
                terms = run()
                let elapsed = start.0.duration(to: .now)
                let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                best = (min(best.wall, wall), min(best.cpu, threadCPUSeconds() - start.1))
            }
            let mb = Double(bytes) / 1e6
            print(
                String(
                    format: "%-32@ %7.1f MB/s wall %7.1f MB/s CPU %9d terms", name as NSString, mb / best.wall, mb / best.cpu,
                    terms))
        }

        /// This thread's CPU time: the figure that other processes on a loaded machine disturb least.
        func threadCPUSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }

        measure("reference: ASCII lowercase split") {
            var terms = 0
            var sink: UInt64 = 0
            for text in texts {
                var text = text
                text.withUTF8 { utf8 in
                    var inWord = false
                    for b in utf8 {
                        let lower = b | 0x20
                        let alnum = (lower >= 0x61 && lower <= 0x7A) || (b >= 0x30 && b <= 0x39)
                        if alnum { sink = sink &* 31 &+ UInt64(lower) }
                        if alnum && !inWord { terms += 1 }
                        inWord = alnum
                    }
                }
            }
            return terms + Int(sink & 0)
        }
        for (name, settings) in [
            ("english stem stop", AnalyzerSettings.english),
            ("english stop (no stemming)", AnalyzerSettings(stemming: false)),
            ("english stem stop fold", AnalyzerSettings(foldDiacritics: true)),
            ("none", AnalyzerSettings(language: "none")),
        ] {
            let analyzer = try TextAnalyzer(settings)
            // The sink counts terms and reads each one's bytes, as an indexer would; through a
            // pointer, so that no exclusivity check on a captured variable is measured.
            let sink = UnsafeMutablePointer<Int>.allocate(capacity: 2)
            defer { sink.deallocate() }
            func run(_ analyzer: TextAnalyzer) -> Int {
                sink.initialize(repeating: 0, count: 2)
                for text in texts {
                    analyzer.forEachTerm(in: text) { term, position in
                        sink[0] += 1
                        sink[1] &+= Int(term.last ?? 0) &+ position
                    }
                }
                return sink[0]
            }
            measure(name) { run(analyzer) }
            if settings == .english {
                // A new analyzer each time: the stem caches start empty, as when indexing a
                // corpus once (the figure above has seen the corpus before).
                measure(name + ", cold caches") { (try? TextAnalyzer(settings)).map(run) ?? 0 }
            }
        }
    }
}
