import ArgumentParser
import Foundation
import Query

/// The one-line message and hint for an error, and its detail for `--verbose`.
enum ErrorReport {
    static func explain(_ error: Error, store: String?) -> (message: String, hint: String?) {
        switch error {
        case let e as CLIError:
            return (e.message, e.hint)
        case let e as QuiverError:
            switch e.code {
            case .notAStore:
                return (e.message, "build one with `quiver index PATH` (the store is --store, $QUIVER_STORE or ./.quiver)")
            case .collectionNotFound:
                return (e.message, "`quiver collections\(store.map { " --store \($0)" } ?? "")` lists the collections")
            case .dimensionMismatch, .collectionExists:
                return (e.message, "index with the embedder the collection was built with, or use another --collection")
            case .corrupted:
                return (e.message, "`quiver check` reports the damage; re-index into a new store to recover")
            case .embedderMismatch:
                return (
                    e.message,
                    "use the embedder the collection was built with (--embedder/--model/--dimensions), another --collection, "
                        + "or re-index the collection with the embedder you want"
                )
            case .transport, .timeout:
                return (
                    "cannot reach \(e.url ?? "the server"): \(e.message)",
                    "is the server running? Check --base-url, OPENAI_BASE_URL or OLLAMA_HOST"
                )
            case .status where e.status == 401 || e.status == 403:
                return ("\(e.url ?? "the server") refused the credentials (\(e.status ?? 0)): \(e.message)", "check OPENAI_API_KEY")
            case .circuitOpen:
                return (e.message, "the server failed repeatedly; try again later")
            case .status, .invalidRequest, .cancelled:
                return (e.description, nil)
            default:
                return (e.message, nil)
            }
        default:
            return ("\(error)", nil)
        }
    }
}
