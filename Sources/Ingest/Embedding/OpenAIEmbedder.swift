import Foundation
import HTTP
import QuiverCore

/// Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM,
/// llama.cpp server, LM Studio, TEI, …).
///
/// ```swift
/// let e = try OpenAIEmbedder(model: "text-embedding-3-small", dimension: 1536)  // OPENAI_API_KEY
/// let local = try OpenAIEmbedder(model: "bge-small", dimension: 384, baseURL: "http://localhost:8000/v1")
/// ```
/// Vectors are requested as base64 float32 (a quarter of the JSON) and accepted as either
/// form; results are ordered by the response's `index`. Requests are split at the
/// provider's input limit, and halved again when the server says one is too large.
/// Retries, `Retry-After` and the circuit breaker come from `caller`.
public struct OpenAIEmbedder: HTTPBackedEmbedder {
    /// The model name.
    public let model: String
    /// The vectors' dimension (sent as `dimensions` when `sendDimensions`).
    public let outputDimension: Int
    /// The base URL as OpenAI's SDKs take it, e.g. `https://api.openai.com/v1`.
    public let baseURL: String
    /// Whether to ask the server for `outputDimension` (models that can shorten vectors).
    public let sendDimensions: Bool
    /// Limits of one request.
    public let limits: EmbedderLimits
    /// Retries and circuit breaker over the shared HTTP client.
    public let caller: ResilientCaller
    private let apiKey: Secret?

    /// Creates an embedder. `baseURL` defaults to `$OPENAI_BASE_URL`, then
    /// `https://api.openai.com/v1`; `apiKey` to `$OPENAI_API_KEY` (an empty key sends none).
    ///
    /// - Throws: `IngestError.invalidArgument` for a bad URL or dimension.
    public init(
        model: String, dimension: Int, baseURL: String? = nil, apiKey: Secret? = nil, sendDimensions: Bool = false,
        limits: EmbedderLimits = EmbedderLimits(maxInputsPerRequest: 2048), caller: ResilientCaller? = nil
    ) throws {
        let env = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }  // empty means unset
        let base = baseURL ?? env["OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"
        guard URL(string: base)?.scheme?.hasPrefix("http") == true else {
            throw IngestError(.invalidArgument, "OpenAI base URL \"\(HTTPError.redact(base))\" is not an http(s) URL")
        }
        guard dimension > 0 else { throw IngestError(.invalidArgument, "embedding dimension must be positive, got \(dimension)") }
        self.model = model
        outputDimension = dimension
        self.baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.apiKey = apiKey ?? env["OPENAI_API_KEY"].map(Secret.init)
        self.sendDimensions = sendDimensions
        self.limits = limits
        self.caller = caller ?? ResilientCaller(client: HTTPClient.shared)
    }

    /// `openai/<model>/<dimension>`.
    public var identifier: EmbedderIdentifier { EmbedderIdentifier(provider: "openai", model: model, dimension: outputDimension) }

    /// The identifier, the base URL (without credentials) and whether it asks for
    /// shortened vectors.
    public var record: EmbedderRecord {
        EmbedderRecord(
            identifier: identifier, baseURL: baseURL,
            options: sendDimensions ? [EmbedderRecord.sendsDimensionsKey: "true"] : [:])
    }

    /// One vector per text, requests made on the calling thread one after another.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try HTTPEmbedding.run(texts, limits: limits, request: request, parse: parse, caller: caller)
    }

    /// One vector per text, requests made on the HTTP client's I/O thread one after another.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await HTTPEmbedding.run(texts, limits: limits, request: request, parse: parse, caller: caller)
    }

    func request(_ texts: [String]) throws -> HTTPRequest {
        var body: [String: Any] = ["model": model, "input": texts, "encoding_format": "base64"]
        if sendDimensions { body["dimensions"] = outputDimension }
        var headers = [("Content-Type", "application/json")]
        if let apiKey, !apiKey.value.isEmpty { headers.append(("Authorization", "Bearer \(apiKey.value)")) }
        return HTTPRequest(
            method: "POST", url: EndpointURL.join(baseURL, "/embeddings"), headers: headers,
            body: try JSONBody.encode(body))
    }

    func parse(_ response: HTTPResponse, count: Int) throws -> [[Float]] {
        // The answer's bytes read directly when they are what this API sends; anything
        // else (and every error) through Foundation's parser.
        let vectors = try EmbeddingResponseScanner.vectors(response.body) ?? Self.vectors(parsing: response.body, from: identifier)
        return try HTTPEmbedding.check(vectors, count: count, dimension: outputDimension, embedder: identifier)
    }

    /// The vectors of an embeddings answer, in input order, through `JSONSerialization`.
    static func vectors(parsing body: [UInt8], from identifier: EmbedderIdentifier) throws -> [[Float]] {
        let object = try HTTPEmbedding.json(body, from: identifier)
        guard let data = object["data"] as? [[String: Any]] else {
            throw IngestError(.badEmbedding, "\(identifier) answered without a \"data\" list")
        }
        var vectors = [[Float]?](repeating: nil, count: data.count)
        for (position, item) in data.enumerated() {
            let index = (item["index"] as? Int) ?? position
            guard index >= 0, index < vectors.count, vectors[index] == nil, let v = HTTPEmbedding.vector(item["embedding"]) else {
                throw IngestError(.badEmbedding, "\(identifier) answered with a malformed or duplicate item at index \(index)")
            }
            vectors[index] = v
        }
        return vectors.compactMap { $0 }
    }
}

extension HTTPClient {
    /// One client for the process's embedders and LLM clients: one I/O thread, one pool of
    /// connections.
    public static let shared = HTTPClient()
}
