import Dispatch
import Synchronization
import Synthetic
import Testing
import TextAnalysis

/// One analyzer used from many threads at once gives what it gives serially.
@Suite struct ConcurrencyTests {
    @Test func manyThreadsAgreeWithSerial() throws {
        let analyzer = try TextAnalyzer(.english)
        var rng = SeededGenerator(seed: 7)
        let words = ["running", "connections", "the", "lighthouse", "keepers", "café", "東京タワー", "covid-19", "3.5", "dog's"]
        let texts = (0..<64).map { _ in
            (0..<200).map { _ in words[Int(rng.next() % UInt64(words.count))] + "\(rng.next() % 50)" }.joined(separator: " ")
        }
        let serial = texts.map { analyzer.terms($0) }
        let results = Results(count: texts.count * 4)
        DispatchQueue.concurrentPerform(iterations: texts.count * 4) { i in
            results.set(i, analyzer.terms(texts[i % texts.count]))
        }
        for i in 0..<(texts.count * 4) {
            #expect(results.get(i) == serial[i % texts.count])
        }
    }
}

/// Results written by many threads.
final class Results: Sendable {
    private let values: Mutex<[[String]]>
    init(count: Int) { values = Mutex(Array(repeating: [], count: count)) }
    func set(_ i: Int, _ value: [String]) { values.withLock { $0[i] = value } }
    func get(_ i: Int) -> [String] { values.withLock { $0[i] } }
}
