import Foundation
import Testing
import VectorStore

/// A database under test, fresh and empty, and how to dispose of it after one check.
public struct ConformanceDatabase: Sendable {
    /// The database; the check creates its own collections in it.
    public var database: any VectorDatabase
    /// Called once the check has finished, whether it passed or not.
    public var cleanup: @Sendable () async throws -> Void

    /// A database under test and its cleanup.
    public init(_ database: any VectorDatabase, cleanup: @escaping @Sendable () async throws -> Void = {}) {
        self.database = database
        self.cleanup = cleanup
    }
}

/// The collection conformance suite: checks written once against `VectorDatabase` and
/// `VectorCollection` (never a backend's own types) that every backend passes unchanged.
///
/// A backend's test target runs every check, each on a fresh, empty database (checks use
/// fixed collection names and run in parallel):
///
/// ```swift
/// @Suite struct LMDBConformanceTests {
///     static let suite = CollectionConformance {
///         let dir = TemporaryDirectory()
///         return ConformanceDatabase(try Store(path: dir.path)) { dir.remove() }
///     }
///     @Test(arguments: CollectionConformance.Check.allCases)
///     func conformance(_ check: CollectionConformance.Check) async throws {
///         try await Self.suite.run(check)
///     }
/// }
/// ```
///
/// Failures are Swift Testing issues at the line of the check that found them. Scores are
/// compared with `BruteForce` within `scoreTolerance`; ids exactly, in order.
public struct CollectionConformance: Sendable {
    /// One check of the suite.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        // Collections
        /// Create, open, list, the settings a collection records, a missing name.
        case createAndOpen
        /// `openOrCreateCollection` creates, reopens, and refuses a mismatch naming the setting.
        case openOrCreateChecksSettings
        /// Dropping removes the records and the name; old handles refuse to work.
        case drop
        /// `_` names are hidden from listings unless asked for.
        case reservedNames
        /// `updateConfiguration` sets and removes keys, and nothing else.
        case updateConfiguration
        /// Bad collection names and dimensions are refused; empty names are never found.
        case rejectsBadCollectionArguments

        // Records
        /// Upsert and get return ids, texts, metadata of every kind and vectors as stored.
        case roundTrip
        /// Upserting an id again replaces its vector, text, metadata and index entries.
        case replaceByID
        /// Within one batch the last record of an id wins.
        case lastOfAnIDWins
        /// `write(upsert:deleting:)` applies both or neither; an invalid record stops all.
        case writeIsAtomic
        /// `write(…, deletingWhere:)` deletes what the filter matches at commit time, keeps what it upserts, all or nothing.
        case writeDeletesWhere
        /// `count` follows inserts, replacements and deletes.
        case count
        /// `delete(ids:)` returns how many existed and removes them from every read.
        case deleteByIDs
        /// `delete(where:)` removes exactly the matching records.
        case deleteByFilter
        /// `metadata(where:)` returns the matching ids with their metadata.
        case metadataWhere
        /// `distinctStringValueCount(of:)` counts string values and list elements of live records.
        case distinctStringValues
        /// Invalid records are refused with a code (by `write` and by `validate` alike), and nothing is written.
        case rejectsBadRecords
        /// Ids that can never be stored (empty, too long) are absent from reads and deletes.
        case unstorableIDsAreAbsent

        // Search
        /// Cosine top-k equals brute force (ids in order, scores).
        case searchCosine
        /// Dot-product top-k equals brute force.
        case searchDot
        /// Euclidean top-k equals brute force.
        case searchL2
        /// k larger than the collection (or than the filter's matches) returns them all.
        case kLargerThanCount
        /// Equal scores are ordered by id, on every metric, with and without filter.
        case tiesOrderedByID
        /// Equal scores are ordered by id in batches of more than 32 queries too.
        case tiesOrderedByIDInLargeBatches
        /// Euclidean distances of close neighbours are exact, and so is their order.
        case l2NearNeighbours
        /// Every `Filter` case matches brute force with an independent predicate.
        case filters
        /// A batch search equals the single searches, in query order.
        case batchEqualsSingle
        /// `searchExplained` reports the plan that ran.
        case explain
        /// Bad queries, k and filters are refused with a code.
        case rejectsBadQueries
        /// Keyword search ranks by BM25 with the operators and filters, and follows writes.
        case keywordSearch
        /// Hybrid search fuses by weighted scores or reciprocal rank; without a keyword index it is refused.
        case hybridSearch

        // Forms and concurrency
        /// Every async form gives what the sync form gives.
        case asyncFormsMatchSync
        /// Searches running while a writer commits see whole batches only.
        case readersSeeWholeBatches
        /// Synchronous calls from many tasks do not deadlock the cooperative pool.
        case syncCallsFromManyTasks

        /// The check's name.
        public var description: String { rawValue }
    }

    /// Checks that crowd the cooperative pool and libdispatch's threads on purpose. Beside
    /// the whole suite's other tests one of them hit its 120 s deadlock guard (locally and
    /// in CI, with the process's other threads busy), so the parametrized tests leave them
    /// out when `scripts/test.sh` runs the isolated tests apart, and each suite runs them
    /// in a test of their own (`…RunAlone`), in a process of its own.
    public static let runAlone: Set<Check> = [.syncCallsFromManyTasks]

    /// The checks a suite's parametrized test runs in this process: all but `excluded`,
    /// and but ``runAlone`` when the isolated tests run apart.
    public static func checks(excluding excluded: Set<Check> = []) -> [Check] {
        Check.allCases.filter { !excluded.contains($0) && (runsIsolatedTests || !runAlone.contains($0)) }
    }

    /// Largest difference allowed between a backend's score and the reference's.
    public static let scoreTolerance = 1e-4

    /// Makes a fresh, empty database for one check.
    public let makeDatabase: @Sendable () async throws -> ConformanceDatabase

    /// A suite that runs each check on a database from `makeDatabase`.
    public init(makeDatabase: @escaping @Sendable () async throws -> ConformanceDatabase) {
        self.makeDatabase = makeDatabase
    }

    /// Runs one check on a fresh database, then cleans it up.
    ///
    /// - Throws: what the backend threw where the check expected success.
    public func run(_ check: Check) async throws {
        let subject = try await makeDatabase()
        do {
            try await Self.perform(check, subject.database)
        } catch {
            try? await subject.cleanup()
            throw error
        }
        try await subject.cleanup()
    }

    static func perform(_ check: Check, _ db: any VectorDatabase) async throws {
        switch check {
        case .createAndOpen: try createAndOpen(db)
        case .openOrCreateChecksSettings: try openOrCreateChecksSettings(db)
        case .drop: try drop(db)
        case .reservedNames: try reservedNames(db)
        case .rejectsBadCollectionArguments: try rejectsBadCollectionArguments(db)
        case .roundTrip: try roundTrip(db)
        case .replaceByID: try replaceByID(db)
        case .lastOfAnIDWins: try lastOfAnIDWins(db)
        case .updateConfiguration: try updateConfiguration(db)
        case .writeIsAtomic: try writeIsAtomic(db)
        case .writeDeletesWhere: try await writeDeletesWhere(db)
        case .count: try count(db)
        case .deleteByIDs: try deleteByIDs(db)
        case .deleteByFilter: try deleteByFilter(db)
        case .metadataWhere: try metadataWhere(db)
        case .distinctStringValues: try distinctStringValues(db)
        case .rejectsBadRecords: try rejectsBadRecords(db)
        case .unstorableIDsAreAbsent: try unstorableIDsAreAbsent(db)
        case .searchCosine: try searchMatchesBruteForce(db, .cosine)
        case .searchDot: try searchMatchesBruteForce(db, .dot)
        case .searchL2: try searchMatchesBruteForce(db, .l2)
        case .kLargerThanCount: try kLargerThanCount(db)
        case .tiesOrderedByID: try tiesOrderedByID(db)
        case .tiesOrderedByIDInLargeBatches: try tiesOrderedByIDInLargeBatches(db)
        case .l2NearNeighbours: try l2NearNeighbours(db)
        case .filters: try filters(db)
        case .batchEqualsSingle: try batchEqualsSingle(db)
        case .explain: try explain(db)
        case .rejectsBadQueries: try rejectsBadQueries(db)
        case .keywordSearch: try keywordSearch(db)
        case .hybridSearch: try hybridSearch(db)
        case .asyncFormsMatchSync: try await asyncFormsMatchSync(db)
        case .readersSeeWholeBatches: try await readersSeeWholeBatches(db)
        case .syncCallsFromManyTasks: try await syncCallsFromManyTasks(db)
        }
    }
}
