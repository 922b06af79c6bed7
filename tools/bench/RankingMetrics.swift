import Foundation

/// BEIR's two headline metrics over document rankings: nDCG@10 with binary gains and a
/// log2 discount (the ideal ranking has min(relevant, 10) relevant documents first), and
/// Recall@100, each averaged over every judged query (a query with no ranking counts 0).
struct RankingMetrics: Equatable {
    var ndcg10: Double
    var recall100: Double

    /// Means over the queries of `relevant` that have a relevant document.
    init(rankings: [String: [String]], relevant: [String: Set<String>]) {
        var ndcg = 0.0
        var recall = 0.0
        var judged = 0
        for (query, docs) in relevant where !docs.isEmpty {
            judged += 1
            let ranking = rankings[query] ?? []
            var dcg = 0.0
            for (i, doc) in ranking.prefix(10).enumerated() where docs.contains(doc) { dcg += 1 / log2(Double(i + 2)) }
            let idcg = (0..<min(docs.count, 10)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
            ndcg += dcg / idcg
            recall += Double(Set(ranking.prefix(100)).intersection(docs).count) / Double(docs.count)
        }
        ndcg10 = judged == 0 ? 0 : ndcg / Double(judged)
        recall100 = judged == 0 ? 0 : recall / Double(judged)
    }

    /// Distinct documents in rank order, at most `limit`: a document ranks where its best
    /// chunk does (its first occurrence).
    static func documents(_ chunkDocuments: [String], limit: Int = 100) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for doc in chunkDocuments where seen.insert(doc).inserted {
            out.append(doc)
            if out.count == limit { break }
        }
        return out
    }
}
