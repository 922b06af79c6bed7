import Foundation
import Query
import TestSupport
import Testing

/// `reindex --ivf`, `search --nprobe` and `stats` on an IVF index, through the built `quiver`.
@Suite struct IVFCommandTests {
    /// The sample corpus (40 chunks) gets a 4-list IVF index; a search probes it and says so
    /// with `-v`, `--nprobe 0` scans, stats shows the index, `--drop` removes it; bad
    /// numbers are usage errors.
    @Test func reindexBuildsSearchesAndDropsTheIVFIndex() throws {
        let dir = TemporaryDirectory("quiver-ivf")
        defer { dir.remove() }
        let store = dir.sub("store")
        let indexed = try runProduct(["index", CommandLineQueryTests.data, "--store", store, "--embedder", "hash", "--json"])
        #expect(indexed.status == 0, "\(indexed.err)")
        let built = try runProduct(["reindex", "--ivf", "--lists", "4", "--nprobe", "1", "--store", store])
        #expect(built.status == 0, "\(built.err)")
        #expect(built.out.contains("IVF index of 4 lists over 40 vectors"), "\(built.out)")
        let probed = try runProduct(["search", "lighthouse keeper", "--store", store, "--mode", "dense", "-v"])
        #expect(probed.status == 0, "\(probed.err)")
        #expect(probed.err.contains("search: ivf:") && probed.err.contains("lists 4"), "\(probed.err)")
        let scanned = try runProduct(["search", "lighthouse keeper", "--store", store, "--mode", "dense", "--nprobe", "0", "-v"])
        #expect(scanned.err.contains("search: scan:"), "\(scanned.err)")
        let stats = try runProduct(["stats", "--store", store])
        #expect(stats.out.contains("IVF index (4 lists, nprobe 1)"), "\(stats.out)")
        #expect(try runProduct(["check", "--store", store]).status == 0)
        let dropped = try runProduct(["reindex", "--ivf", "--drop", "--store", store])
        #expect(dropped.out.contains("IVF index removed"), "\(dropped.out)")
        #expect(try runProduct(["search", "lighthouse", "--store", store, "--mode", "dense", "-v"]).err.contains("search: scan:"))
        let zero = try runProduct(["reindex", "--ivf", "--lists", "0", "--store", store])
        #expect(zero.status == 2 && zero.err.contains("--lists"), "\(zero.err)")
        let many = try runProduct(["reindex", "--ivf", "--lists", "41", "--store", store])
        #expect(many.status != 0 && many.err.contains("40 vectors"), "\(many.err)")
    }

    /// `quiver index` retrains the IVF index when a run leaves it out of date: 40 vectors
    /// trained into 4 lists, then 160 more documents (the collection grew 5×) are indexed,
    /// and the run says it retrained, for lists of the new size. A run that leaves the
    /// index balanced says nothing of it.
    @Test func indexRetrainsTheIVFIndexWhenTheCollectionOutgrowsIt() throws {
        let dir = TemporaryDirectory("quiver-ivf-retrain")
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try runProduct(["index", CommandLineQueryTests.data, "--store", store, "--embedder", "hash"]).status == 0)
        #expect(try runProduct(["reindex", "--ivf", "--lists", "4", "--store", store]).status == 0)
        let more = dir.sub("more")
        try FileManager.default.createDirectory(atPath: more, withIntermediateDirectories: true)
        for i in 0..<160 {
            try "Note \(i): the keeper of light \(i) logged fog, wind and tides.".write(
                toFile: more + "/n\(i).txt", atomically: false, encoding: .utf8)
        }
        let grown = try runProduct(["index", more, "--store", store])
        #expect(grown.status == 0, "\(grown.err)")
        #expect(grown.err.contains("retrained the IVF index (the collection grew from 40 to 200 vectors): 14 lists"), "\(grown.err)")
        let stats = try runProduct(["stats", "--store", store])
        #expect(stats.out.contains("IVF index (14 lists"), "\(stats.out)")
        try "One more note about the lantern.".write(toFile: more + "/extra.txt", atomically: false, encoding: .utf8)
        let again = try runProduct(["index", more, "--store", store])
        #expect(again.status == 0 && !again.err.contains("retrained"), "\(again.err)")
        #expect(try runProduct(["check", "--store", store]).status == 0)
    }
}
