import Foundation

/// Request URLs built from a server's base URL and an endpoint's path, by components: the
/// path goes after the base's path, and the base's query string stays the query (Azure
/// OpenAI's `?api-version=…`).
///
/// ```swift
/// EndpointURL.join("http://127.0.0.1:8000/v1?api-version=2024-01-01", "/embeddings")
/// // "http://127.0.0.1:8000/v1/embeddings?api-version=2024-01-01"
/// ```
public enum EndpointURL {
    /// `path` (starting with `/`) appended to `base`'s path, without a doubled `/`, and
    /// `base`'s query kept; a fragment is dropped (it is never sent). A base that does not
    /// parse as a URL gets `path` appended as text, for the HTTP client to reject.
    public static func join(_ base: String, _ path: String) -> String {
        guard var components = URLComponents(string: base) else { return base + path }
        var basePath = components.percentEncodedPath
        while basePath.hasSuffix("/") { basePath.removeLast() }
        components.percentEncodedPath = basePath + path
        components.fragment = nil
        return components.string ?? base + path
    }
}
