import Foundation
import Testing
import TestSupport
@testable import VectorStore

/// What the writer (`quiver-bench writer`) has stored after committing batches 0...last.
private func expectedText(_ id: (batch: Int, j: Int), last: Int) -> String {
    id.j % 5 == 0 && id.batch < last ? "batch \(id.batch + 1)" : "batch \(id.batch)"
}

/// The vector `quiver-bench writer` gives record j of batch i (`Writer.vector`).
private func writerVector(_ i: Int, _ j: Int, _ dim: Int) -> [Float] {
    (0..<dim).map { Float((i * 31 + j * 17 + $0 * 7) % 101) / 50 - 1 }
}

@Suite struct DurabilityTests {
    /// Kills a writer process with SIGKILL at random moments; the store must open, pass
    /// its integrity check, and hold exactly the batches committed before the kill. Rounds
    /// write f32, int8, f16 and int8 collections: a compact collection's float32 copies are
    /// in the same transactions, and `check()` compares them with the records. The last two
    /// rounds build an IVF index after batch 1 and retrain it every 3 batches (in chunks of
    /// 256 rows, each its own commit): a kill inside a retrain leaves a usable index.
    @Test func killedWriterLeavesTheLastCommittedState() throws {
        let writer = try #require(BuiltProducts.executable("quiver-bench"), "quiver-bench is not built beside the tests")
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var rng = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
        let batchSize = 200
        for round in 0..<6 {
            let name = "crash\(round)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: writer)
            let encoding = ["f32", "i8", "f16", "i8", "f32", "i8"][round]
            let ivf = round >= 4
            process.arguments =
                [
                    "writer", "--store", dir.path, "--collection", name, "--batch-size", "\(batchSize)", "--encoding", encoding,
                ] + (ivf ? ["--ivf-lists", "8", "--retrain-every", "3"] : [])
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            // Let it commit a random number of batches, reading from this process meanwhile.
            let target = Int.random(in: 3...40, using: &rng)
            var lastSeen = -1
            var buffer = Data()
            let handle = pipe.fileHandleForReading
            while lastSeen < target {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    if let n = Int(line.split(separator: " ").last ?? "") { lastSeen = n }
                }
                if lastSeen >= 1 && lastSeen % 4 == 1 {
                    // A reader in another process sees a consistent snapshot mid-ingest.
                    let reader = try Store(path: dir.path)
                    let c = try reader.collection(name)
                    let n = try c.count()
                    #expect(n % batchSize == 0, "reader saw a partial batch: \(n) records")
                    #expect(try c.search([Float](repeating: 1, count: 16), k: 5).count == 5)
                }
            }
            // Kill somewhere inside a later batch: after a random extra delay.
            usleep(UInt32.random(in: 0...30_000, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            buffer.append(handle.readDataToEndOfFile())
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                if let n = Int(line.split(separator: " ").last ?? "") { lastSeen = max(lastSeen, n) }
            }
            #expect(process.terminationReason == .uncaughtSignal)

            let store = try Store(path: dir.path)
            let report = try store.check()
            #expect(report.isHealthy, "\(report)")
            let c = try store.collection(name)
            let count = try c.count()
            // The kill may land after a commit but before its line was printed.
            let committed = count / batchSize - 1
            #expect(count % batchSize == 0)
            #expect(committed == lastSeen || committed == lastSeen + 1, "store holds \(committed + 1) batches, writer printed \(lastSeen)")
            for batch in [0, committed / 2, committed] {
                for j in [0, 1, 5, batchSize - 1] {
                    let r = try #require(try c.get("r\(batch)-\(j)"), "r\(batch)-\(j) missing after round \(round)")
                    #expect(r.text == expectedText((batch, j), last: committed))
                    // Compact collections return their float32 copies: the vector as written.
                    let replaced = j % 5 == 0 && batch < committed
                    #expect(r.vector == writerVector(replaced ? batch + 1 : batch, replaced ? j + 100_000 : j, 16), "\(encoding)")
                }
            }
            #expect(try c.get("r\(committed + 1)-0") == nil)
            if ivf, committed >= 2, let status = try c.ivfStatus() {
                // Probing every list is exact whatever a kill left outside the lists.
                var all = SearchRequest(queries: [[Float](repeating: 1, count: 16)], k: 5)
                all.nprobe = status.lists
                let probed = try c.search(all)
                all.nprobe = 0
                #expect(probed.hits[0].map(\.id) == (try c.search(all).hits[0].map(\.id)))
                all.nprobe = 1
                let one = try c.search(all)
                #expect(one.plan.access == "ivf" && one.hits[0].count == 5, "\(one.plan)")
            }
            #expect(try c.search([Float](repeating: 1, count: 16), k: 3, filter: .equals("batch", .int(Int64(committed)))).count == 3)
        }
        // Earlier rounds survive later ones.
        let store = try Store(path: dir.path)
        #expect(try store.collections().count == 6)
        #expect(try store.check().isHealthy)
    }
}

@Suite struct MultiProcessTests {
    /// Another process grows the map past this process's mapping; this process adopts the
    /// new size on its next transaction instead of failing.
    @Test func readerAdoptsAMapGrownByAnotherProcess() throws {
        let writer = try #require(BuiltProducts.executable("quiver-bench"), "quiver-bench is not built beside the tests")
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var small = StoreOptions()
        small.initialMapSize = 1 << 20
        let store = try Store(path: dir.path, options: small)
        let c = try store.createCollection("crash", dimension: 16, metric: .dot)
        #expect(try c.count() == 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: writer)
        process.arguments = ["writer", "--store", dir.path, "--batches", "5", "--batch-size", "2000"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        // About 2 MB of vectors and text: beyond this process's 1 MiB mapping.
        #expect(try c.count() == 10_000)
        #expect(store.env.mapSize > 1 << 20)
        #expect(try c.get("r4-1999")?.text == "batch 4")
        #expect(try c.search([Float](repeating: 1, count: 16), k: 3).count == 3)
        try c.upsert([Record(id: "here", vector: [Float](repeating: 0.5, count: 16))])
        #expect(try c.count() == 10_001)
        #expect(try store.check().isHealthy)
    }
}
