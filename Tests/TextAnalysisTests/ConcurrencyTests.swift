import Foundation
import Synchronization
import Synthetic
import Testing
import TextAnalysis
import QuiverCore

/// One analyzer used from many threads at once gives what it gives serially.
@Suite struct ConcurrencyTests {
    @Test func manyThreadsAgreeWithSerial() async throws {
        let analyzer = try TextAnalyzer(.english)
        var rng = SeededGenerator(seed: 7)
        let words = ["running", "connections", "the", "lighthouse", "keepers", "café", "東京タワー", "covid-19", "3.5", "dog's"]
        let texts = (0..<48).map { _ in
            (0..<300).map { _ in words[Int(rng.next() % UInt64(words.count))] + "\(rng.next() % 500)" }.joined(separator: " ")
        }
        let serial = texts.map { analyzer.terms($0) }
        // Eight threads of our own (more than the pool keeps idle, and more than the cores),
        // each analyzing every text, starting at different places.
        let threads = 8
        let results = PosixMutex<[[[String]]]>(Array(repeating: [], count: threads))
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Atomic(threads)
            for t in 0..<threads {
                Thread {
                    var mine: [[String]] = Array(repeating: [], count: texts.count)
                    for k in 0..<texts.count {
                        let i = (k + t * 5) % texts.count
                        mine[i] = analyzer.terms(texts[i])
                    }
                    results.withLock { $0[t] = mine }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                }.start()
            }
        }
        for perThread in results.withLock({ $0 }) {
            #expect(perThread == serial)
        }
    }
}
