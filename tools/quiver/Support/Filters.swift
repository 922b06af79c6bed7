import ArgumentParser
import Foundation
import Query

/// `KEY=VALUE` filters.
enum Filters {
    /// One `equals` per pair, all required; a value that reads as a number or bool also
    /// matches metadata of that type.
    static func parse(_ pairs: [String]) throws -> Filter? {
        let filters = try pairs.map { pair -> Filter in
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--where needs KEY=VALUE, got \"\(pair)\"")
            }
            let key = String(pair[..<eq])
            let value = String(pair[pair.index(after: eq)...])
            var options: [Filter] = [.equals(key, .string(value))]
            if let n = Int64(value) { options.append(.equals(key, .int(n))) }
            if let d = Double(value), Int64(value) == nil { options.append(.equals(key, .double(d))) }
            if let b = Bool(value) { options.append(.equals(key, .bool(b))) }
            return options.count == 1 ? options[0] : .or(options)
        }
        return filters.isEmpty ? nil : filters.count == 1 ? filters[0] : .and(filters)
    }
}
