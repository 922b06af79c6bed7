import Foundation
import VectorStore

// The filters the checks run, each with a predicate of its own.
extension CollectionConformance {
    /// Every `Filter` case (and the edges of each) with a predicate written independently of
    /// `Filter.matches`, over the corpus of `corpusRecord`.
    static func filterCases(_ ref: BruteForce) -> [(String, Filter, @Sendable ([String: MetadataValue]) -> Bool)] {
        @Sendable func str(_ m: [String: MetadataValue], _ f: String) -> String? {
            if case .string(let s)? = m[f] { return s }
            return nil
        }
        @Sendable func num(_ m: [String: MetadataValue], _ f: String) -> Double? {
            switch m[f] {
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            default: return nil
            }
        }
        @Sendable func list(_ m: [String: MetadataValue], _ f: String) -> [String] {
            if case .strings(let l)? = m[f] { return l }
            return []
        }
        @Sendable func bool(_ m: [String: MetadataValue], _ f: String) -> Bool? {
            if case .bool(let b)? = m[f] { return b }
            return nil
        }
        // A weight some live record holds (weights are random tenths in -100...100).
        let weight = ref.records.keys.sorted().first.flatMap { ref.records[$0].flatMap { num($0.metadata, "weight") } } ?? 0
        return [
            ("equals a string", .equals("lang", "de"), { str($0, "lang") == "de" }),
            ("equals an int", .equals("year", 2010), { num($0, "year") == 2010 }),
            ("equals an int given as a double", .equals("year", 2010.0), { num($0, "year") == 2010 }),
            ("equals a double", .equals("score", 3.5), { num($0, "score") == 3.5 }),
            ("equals an int on a field of ints and doubles", .equals("score", 4), { num($0, "score") == 4 }),
            ("equals a double a record holds", .equals("weight", .double(weight)), { num($0, "weight") == weight }),
            ("equals true", .equals("draft", true), { bool($0, "draft") == true }),
            ("equals false", .equals("draft", false), { bool($0, "draft") == false }),
            ("equals a list element", .equals("tags", "t3"), { list($0, "tags").contains("t3") }),
            ("equals a string on an int field", .equals("year", "2010"), { _ in false }),
            ("equals an int on a string field", .equals("lang", 1), { _ in false }),
            ("equals true on a number field", .equals("score", true), { _ in false }),
            ("equals on a missing field", .equals("nope", "x"), { _ in false }),
            ("equals a value nobody has", .equals("lang", "xx"), { _ in false }),
            ("notEquals a string", .notEquals("lang", "en"), { str($0, "lang") != "en" }),
            ("notEquals on a field some lack", .notEquals("draft", true), { bool($0, "draft") != true }),
            ("notEquals a list element", .notEquals("tags", "t1"), { !list($0, "tags").contains("t1") }),
            ("notEquals a rare value", .notEquals("rare", "yes"), { str($0, "rare") != "yes" }),
            ("isIn strings", .isIn("lang", ["fr", "ja"]), { ["fr", "ja"].contains(str($0, "lang")) }),
            ("isIn numbers of both kinds", .isIn("year", [2001, 2003.0, 2024]), { [2001, 2003, 2024].contains(num($0, "year")) }),
            ("isIn list elements", .isIn("tags", ["t0", "t5"]), { !Set(list($0, "tags")).isDisjoint(with: ["t0", "t5"]) }),
            ("isIn values of every kind", .isIn("score", [2, 3.5, "2", true]), { [2, 3.5].contains(num($0, "score")) }),
            ("isIn nothing", .isIn("lang", []), { _ in false }),
            ("notIn strings", .notIn("lang", ["fr", "ja"]), { !["fr", "ja"].contains(str($0, "lang")) }),
            ("notIn a list element", .notIn("tags", ["t0"]), { !list($0, "tags").contains("t0") }),
            ("notIn on a field some lack", .notIn("draft", [true]), { bool($0, "draft") != true }),
            ("notIn nothing", .notIn("lang", []), { _ in true }),
            ("range inclusive", .range("year", lower: 2005, upper: 2010), { num($0, "year").map { 2005 <= $0 && $0 <= 2010 } ?? false }),
            (
                "range exclusive", .range("year", lower: 2005, upper: 2010, lowerInclusive: false, upperInclusive: false),
                { num($0, "year").map { 2005 < $0 && $0 < 2010 } ?? false }
            ),
            (
                "range excluding its lower bound", .range("year", lower: 2005, upper: 2010, lowerInclusive: false),
                { num($0, "year").map { 2005 < $0 && $0 <= 2010 } ?? false }
            ),
            (
                "range excluding its upper bound", .range("year", lower: 2005, upper: 2010, upperInclusive: false),
                { num($0, "year").map { 2005 <= $0 && $0 < 2010 } ?? false }
            ),
            ("range with a lower bound only", .range("year", lower: 2020), { num($0, "year").map { $0 >= 2020 } ?? false }),
            (
                "range above an excluded lower bound", .range("year", lower: 2020, lowerInclusive: false),
                { num($0, "year").map { $0 > 2020 } ?? false }
            ),
            ("range with an upper bound only", .range("year", upper: 2003), { num($0, "year").map { $0 <= 2003 } ?? false }),
            (
                "range below an excluded upper bound", .range("year", upper: 2003, upperInclusive: false),
                { num($0, "year").map { $0 < 2003 } ?? false }
            ),
            (
                "range over negative doubles", .range("weight", lower: -20.5, upper: 10),
                { num($0, "weight").map { -20.5 <= $0 && $0 <= 10 } ?? false }
            ),
            (
                "range with fractional bounds over ints", .range("year", lower: 2009.5, upper: 2011.5),
                { [2010, 2011].contains(num($0, "year")) }
            ),
            (
                "range over ints and doubles", .range("score", lower: 3, upper: 5.5, upperInclusive: false),
                { num($0, "score").map { 3 <= $0 && $0 < 5.5 } ?? false }
            ),
            ("range of one point", .range("score", lower: 4, upper: 4), { num($0, "score") == 4 }),
            ("range without bounds", .range("weight"), { num($0, "weight") != nil }),
            ("range that is empty", .range("year", lower: 2015, upper: 2010), { _ in false }),
            ("range on a string field", .range("lang", lower: 0), { _ in false }),
            ("range on a bool field", .range("draft"), { _ in false }),
            ("exists on a field some have", .exists("draft"), { $0["draft"] != nil }),
            ("exists on a rare field", .exists("rare"), { $0["rare"] != nil }),
            ("exists on a list field, empty lists too", .exists("tags"), { $0["tags"] != nil }),
            ("exists on a missing field", .exists("nope"), { _ in false }),
            (
                "and", .and([.equals("lang", "en"), .range("year", lower: 2012)]),
                { str($0, "lang") == "en" && (num($0, "year") ?? 0) >= 2012 }
            ),
            (
                "and of three", .and([.exists("draft"), .notEquals("lang", "ja"), .isIn("tags", ["t1", "t2"])]),
                { $0["draft"] != nil && str($0, "lang") != "ja" && !Set(list($0, "tags")).isDisjoint(with: ["t1", "t2"]) }
            ),
            (
                "and of negations", .and([.not(.equals("lang", "en")), .notIn("year", [2001, 2002])]),
                { str($0, "lang") != "en" && ![2001, 2002].contains(num($0, "year")) }
            ),
            ("and of nothing", .and([]), { _ in true }),
            ("or", .or([.equals("lang", "ja"), .exists("rare")]), { str($0, "lang") == "ja" || $0["rare"] != nil }),
            (
                "or with a negation", .or([.notEquals("lang", "en"), .equals("draft", true)]),
                { str($0, "lang") != "en" || bool($0, "draft") == true }
            ),
            ("or of nothing", .or([]), { _ in false }),
            ("not equals", .not(.equals("lang", "en")), { str($0, "lang") != "en" }),
            ("not exists", .not(.exists("draft")), { $0["draft"] == nil }),
            (
                "not a range", .not(.range("year", lower: 2005, upper: 2010)),
                { !(num($0, "year").map { 2005 <= $0 && $0 <= 2010 } ?? false) }
            ),
            ("not not", .not(.not(.equals("lang", "fr"))), { str($0, "lang") == "fr" }),
            ("not and of nothing", .not(.and([])), { _ in false }),
            ("not or of nothing", .not(.or([])), { _ in true }),
            (
                "nested", .and([.not(.isIn("lang", ["en", "de"])), .or([.equals("draft", false), .range("weight", upper: -50)])]),
                { !["en", "de"].contains(str($0, "lang")) && (bool($0, "draft") == false || (num($0, "weight") ?? 0) <= -50) }
            ),
            (
                "not of an or holding a negation", .not(.or([.notIn("lang", ["en"]), .exists("rare")])),
                { str($0, "lang") == "en" && $0["rare"] == nil }
            ),
        ]
    }
}
