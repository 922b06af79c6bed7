import Foundation
import HTTP
import QuiverCore

/// Embeddings from Ollama's `/api/embed`.
///
/// ```swift
/// let e = try OllamaEmbedder(model: "nomic-embed-text", dimension: 768)  // $OLLAMA_HOST
/// ```
public struct OllamaEmbedder: HTTPBackedEmbedder {
    /// The model name.
    public let model: String
    /// The vectors' dimension.
    public let outputDimension: Int
    /// The server, e.g. `http://127.0.0.1:11434`.
    public let host: String
    /// Limits of one request.
    public let limits: EmbedderLimits
    /// Retries and circuit breaker over the shared HTTP client.
    public let caller: ResilientCaller

    /// Creates an embedder. `host` defaults to `$OLLAMA_HOST`, then
    /// `http://127.0.0.1:11434`.
    ///
    /// - Throws: `IngestError.invalidArgument` for a bad host or dimension.
    public init(
        model: String, dimension: Int, host: String? = nil, limits: EmbedderLimits = EmbedderLimits(maxInputsPerRequest: 512),
        caller: ResilientCaller? = nil
    ) throws {
        let fromEnvironment = ProcessInfo.processInfo.environment["OLLAMA_HOST"].flatMap { $0.isEmpty ? nil : $0 }
        var base = host ?? fromEnvironment ?? "http://127.0.0.1:11434"
        if !base.contains("://") { base = "http://" + base }  // OLLAMA_HOST is often host:port
        guard URL(string: base)?.host != nil else {
            throw IngestError(.invalidArgument, "Ollama host \"\(HTTPError.redact(base))\" is not a URL")
        }
        guard dimension > 0 else { throw IngestError(.invalidArgument, "embedding dimension must be positive, got \(dimension)") }
        self.model = model
        outputDimension = dimension
        self.host = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.limits = limits
        self.caller = caller ?? ResilientCaller(client: HTTPClient.shared)
    }

    /// `ollama/<model>/<dimension>`.
    public var identifier: EmbedderIdentifier { EmbedderIdentifier(provider: "ollama", model: model, dimension: outputDimension) }

    /// The identifier and the host (without credentials).
    public var record: EmbedderRecord { EmbedderRecord(identifier: identifier, baseURL: host) }

    /// One vector per text, requests made on the calling thread one after another.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try HTTPEmbedding.run(texts, limits: limits, request: request, parse: parse, caller: caller)
    }

    /// One vector per text, requests made on the HTTP client's I/O thread one after another.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await HTTPEmbedding.run(texts, limits: limits, request: request, parse: parse, caller: caller)
    }

    func request(_ texts: [String]) throws -> HTTPRequest {
        HTTPRequest(
            method: "POST", url: EndpointURL.join(host, "/api/embed"), headers: [("Content-Type", "application/json")],
            body: try JSONBody.encode(["model": model, "input": texts] as [String: Any]))
    }

    func parse(_ response: HTTPResponse, count: Int) throws -> [[Float]] {
        let object = try HTTPEmbedding.json(response.body, from: identifier)
        guard let list = object["embeddings"] as? [Any] else {
            throw IngestError(.badEmbedding, "\(identifier) answered without an \"embeddings\" list")
        }
        let vectors = try list.enumerated().map { i, item -> [Float] in
            guard let v = HTTPEmbedding.vector(item) else {
                throw IngestError(.badEmbedding, "\(identifier) answered with a malformed vector at position \(i)")
            }
            return v
        }
        return try HTTPEmbedding.check(vectors, count: count, dimension: outputDimension, embedder: identifier)
    }
}
