import Foundation
import VectorStore

/// What a collection records about the embedder of its vectors, in its configuration:
/// the identifier (provider, model, dimension) and, for server-backed embedders, where it
/// ran (without credentials or query) and its options. Never a key.
///
/// Each embedder describes its own record (`Embedder.record`); `EmbedderRegistry` rebuilds
/// an embedder from one; `check(_:against:)` is the one place a mismatch is decided.
public struct EmbedderRecord: Sendable, Hashable {
    /// The configuration key of the identifier (`provider/model/dimension`).
    public static let identifierKey = "embedder"
    /// The configuration key of a server-backed embedder's base URL.
    public static let baseURLKey = "embedder_base_url"
    /// The configuration key recording that an OpenAI embedder asks for shortened vectors.
    public static let sendsDimensionsKey = "embedder_sends_dimensions"
    /// Configuration keys of an embedder's options start with this.
    public static let keyPrefix = "embedder_"

    /// Provider, model and dimension.
    public var identifier: EmbedderIdentifier
    /// Where a server-backed embedder ran, without credentials (user, password, fragment,
    /// or query parameters whose names suggest a secret: key, token, secret, password,
    /// signature, auth); other query parameters, such as Azure's `api-version`, stay.
    public var baseURL: String?
    /// Other settings needed to rebuild it, by configuration key (each starting with
    /// `embedder_`), e.g. `embedder_sends_dimensions: "true"`.
    public var options: [String: String]

    /// Creates a record.
    public init(identifier: EmbedderIdentifier, baseURL: String? = nil, options: [String: String] = [:]) {
        self.identifier = identifier
        self.baseURL = baseURL.map(Self.recordable)
        self.options = options
    }

    /// `url` as a record may hold it: credentials and secret-looking query parameters
    /// removed, the rest kept.
    public static func recordable(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        components.fragment = nil
        let secret = ["key", "token", "secret", "password", "sig", "auth"]
        let kept = (components.queryItems ?? []).filter { item in !secret.contains { item.name.lowercased().contains($0) } }
        components.queryItems = kept.isEmpty ? nil : kept
        return components.string ?? "<unparsable URL>"
    }

    /// The record a collection's configuration holds; nil when it records no embedder or
    /// one this version cannot parse.
    public init?(configuration: [String: String]) {
        guard let text = configuration[Self.identifierKey], let id = EmbedderIdentifier(text) else { return nil }
        identifier = id
        baseURL = configuration[Self.baseURLKey]
        options = configuration.filter { $0.key.hasPrefix(Self.keyPrefix) && $0.key != Self.baseURLKey }
    }

    /// The configuration entries of the record.
    public var configuration: [String: String] {
        var out = options
        out[Self.identifierKey] = identifier.description
        if let baseURL { out[Self.baseURLKey] = baseURL }
        return out
    }

    /// Throws unless vectors of `embedder` may go into (or query) the collection `info`
    /// describes: the identifier it records and its dimension must both match. A
    /// collection that records no embedder is accepted only when `requireRecord` is false
    /// (querying a collection an application filled itself).
    ///
    /// - Throws: `QuiverError.embedderMismatch` with `collection`, `expected` (what the
    ///   collection holds) and `actual` (the embedder given).
    public static func check(_ embedder: any Embedder, against info: CollectionInfo, requireRecord: Bool = false) throws {
        let given = embedder.identifier
        let recorded = info.configuration[identifierKey]
        if recorded == nil, requireRecord {
            throw QuiverError(
                .embedderMismatch,
                "collection \"\(info.name)\" records no embedder, so vectors of \(given) cannot be added to it: use another collection",
                collection: info.name, expected: "(unset)", actual: given.description)
        }
        if let recorded, recorded != given.description {
            throw QuiverError(
                .embedderMismatch,
                "collection \"\(info.name)\" holds vectors of \(recorded), not \(given): "
                    + "use the same embedder, or another collection",
                collection: info.name, expected: recorded, actual: given.description)
        }
        guard info.dimension == given.dimension else {
            throw QuiverError(
                .embedderMismatch,
                "collection \"\(info.name)\" holds \(info.dimension)-dimensional vectors; \(given) makes \(given.dimension)",
                collection: info.name, expected: "\(info.dimension) dimensions", actual: given.description)
        }
    }
}
