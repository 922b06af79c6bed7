import Foundation
import HTTP

/// What the OpenAI and Ollama embedders share: splitting inputs to the provider's limits,
/// splitting again when the server says a request is too large, and checking what comes
/// back.
enum HTTPEmbedding {
    /// Texts in requests of at most `limits` inputs and bytes, as index ranges.
    static func requests(_ texts: [String], _ limits: EmbedderLimits) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        var bytes = 0
        for (i, t) in texts.enumerated() {
            let size = t.utf8.count
            let full = i - start >= limits.maxInputsPerRequest || (limits.maxBytesPerRequest.map { bytes + size > $0 } ?? false)
            if full && i > start {
                out.append(start..<i)
                start = i
                bytes = 0
            }
            bytes += size
        }
        if start < texts.count { out.append(start..<texts.count) }
        return out
    }

    /// A 400/413 whose message says the request was too big (too many inputs or tokens).
    static func isTooLarge(_ error: Error) -> Bool {
        guard let e = error as? HTTPError, e.code == .status, e.status == 400 || e.status == 413 else { return false }
        let m = e.message.lowercased()
        return e.status == 413
            || ["too many", "too large", "maximum", "max_tokens", "context length", "too long", "exceeds"]
                .contains { m.contains($0) }
    }

    /// Embeds `range` of `texts` with `post`, halving the request while the server says
    /// it is too large.
    static func embed(
        _ texts: [String], _ range: Range<Int>, post: ([String]) throws -> [[Float]]
    ) throws -> [[Float]] {
        do {
            return try post(Array(texts[range]))
        } catch  where isTooLarge(error) && range.count > 1 {
            let mid = range.lowerBound + range.count / 2
            return try embed(texts, range.lowerBound..<mid, post: post) + embed(texts, mid..<range.upperBound, post: post)
        }
    }

    /// Async form of `embed(_:_:post:)`.
    static func embed(
        _ texts: [String], _ range: Range<Int>, post: ([String]) async throws -> [[Float]]
    ) async throws -> [[Float]] {
        do {
            return try await post(Array(texts[range]))
        } catch  where isTooLarge(error) && range.count > 1 {
            let mid = range.lowerBound + range.count / 2
            let a = try await embed(texts, range.lowerBound..<mid, post: post)
            return try await a + embed(texts, mid..<range.upperBound, post: post)
        }
    }

    /// Embeds `texts` in requests within `limits`, one after another, through `caller`.
    static func run(
        _ texts: [String], limits: EmbedderLimits, request: ([String]) throws -> HTTPRequest,
        parse: (HTTPResponse, Int) throws -> [[Float]], caller: ResilientCaller
    ) throws -> [[Float]] {
        try requests(texts, limits).flatMap { range in
            try embed(texts, range) { batch in try parse(caller.send(request(batch)), batch.count) }
        }
    }

    /// Async form of `run`.
    static func run(
        _ texts: [String], limits: EmbedderLimits, request: ([String]) throws -> HTTPRequest,
        parse: (HTTPResponse, Int) throws -> [[Float]], caller: ResilientCaller
    ) async throws -> [[Float]] {
        var out: [[Float]] = []
        for range in requests(texts, limits) {
            out += try await embed(texts, range) { batch in try parse(await caller.send(request(batch)), batch.count) }
        }
        return out
    }

    /// Checks count and dimension.
    static func check(_ vectors: [[Float]], count: Int, dimension: Int, embedder: EmbedderIdentifier) throws -> [[Float]] {
        guard vectors.count == count else {
            throw IngestError(
                .badEmbedding, "\(embedder) returned \(vectors.count) vectors for \(count) texts", input: embedder.description,
                expected: "\(count) vectors", actual: "\(vectors.count) vectors")
        }
        for (i, v) in vectors.enumerated() where v.count != dimension {
            throw IngestError(
                .badEmbedding, "\(embedder) returned a vector of \(v.count) components for text \(i) of the request, expected \(dimension)",
                input: embedder.description, expected: "\(dimension) components", actual: "\(v.count) components")
        }
        for (i, v) in vectors.enumerated() where !v.allSatisfy({ $0.isFinite }) {
            throw IngestError(
                .badEmbedding, "\(embedder) returned a non-finite component for text \(i) of the request", input: embedder.description,
                expected: "finite components")
        }
        return vectors
    }

    static func json(_ body: [UInt8], from embedder: EmbedderIdentifier) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            let preview = String(decoding: body.prefix(80), as: UTF8.self)
            throw IngestError(
                .badEmbedding, "\(embedder) answered with a body that is not a JSON object: \(preview)…", input: embedder.description,
                expected: "a JSON object")
        }
        return object
    }

    /// A JSON number array or an OpenAI base64 string of little-endian float32.
    static func vector(_ value: Any?) -> [Float]? {
        if let numbers = value as? [NSNumber] { return numbers.map { $0.floatValue } }
        if let text = value as? String, let data = Data(base64Encoded: text), data.count % 4 == 0 {
            return data.withUnsafeBytes { raw in
                (0..<(data.count / 4)).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            }
        }
        return nil
    }
}
