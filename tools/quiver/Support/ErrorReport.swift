import ArgumentParser
import Foundation
import Query

/// The one-line message and hint for an error, and its detail for `--verbose`.
enum ErrorReport {
    static func explain(_ error: Error, store: String?) -> (message: String, hint: String?) {
        switch error {
        case let e as CLIError:
            return (e.message, e.hint)
        case let e as StoreError:
            switch e.code {
            case .notAStore:
                return (e.message, "build one with `quiver index PATH` (the store is --store, $QUIVER_STORE or ./.quiver)")
            case .collectionNotFound:
                return (e.message, "`quiver collections\(store.map { " --store \($0)" } ?? "")` lists the collections")
            case .dimensionMismatch, .collectionExists:
                return (e.message, "index with the embedder the collection was built with, or use another --collection")
            case .corrupted:
                return (e.message, "`quiver check` reports the damage; re-index into a new store to recover")
            default:
                return (e.message, nil)
            }
        case let e as IngestError where e.code == .embedderMismatch:
            return (e.message, "pass the same --embedder/--model/--dimensions as before, or another --collection")
        case let e as QueryError where e.code == .embedderMismatch:
            return (e.message, "re-index the collection with the embedder you want to query with")
        case let e as HTTPError:
            switch e.code {
            case .transport, .timeout:
                return (
                    "cannot reach \(HTTPError.redact(e.url)): \(e.message)",
                    "is the server running? Check --base-url, OPENAI_BASE_URL or OLLAMA_HOST"
                )
            case .status where e.status == 401 || e.status == 403:
                return ("\(HTTPError.redact(e.url)) refused the credentials (\(e.status ?? 0)): \(e.message)", "check OPENAI_API_KEY")
            case .circuitOpen:
                return (e.message, "the server failed repeatedly; try again later")
            default:
                return (e.description, nil)
            }
        default:
            return ("\(error)", nil)
        }
    }
}
