import HTTP
import Testing

@Suite struct EndpointURLTests {
    @Test func theEndpointGoesAfterThePathAndTheQueryStays() {
        let cases: [(base: String, path: String, url: String)] = [
            ("http://127.0.0.1:8000/v1", "/embeddings", "http://127.0.0.1:8000/v1/embeddings"),
            ("http://127.0.0.1:8000/v1/", "/embeddings", "http://127.0.0.1:8000/v1/embeddings"),
            ("http://127.0.0.1:8000", "/api/embed", "http://127.0.0.1:8000/api/embed"),
            ("http://127.0.0.1:8000/", "/api/embed", "http://127.0.0.1:8000/api/embed"),
            (
                "http://127.0.0.1:8000/v1?api-version=2024-01-01", "/embeddings",
                "http://127.0.0.1:8000/v1/embeddings?api-version=2024-01-01"
            ),
            (
                "https://x.openai.azure.com/openai/deployments/d/?api-version=2024-01-01&a=b%26c", "/chat/completions",
                "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-01-01&a=b%26c"
            ),
            ("http://h:1/?q=1", "/api/chat", "http://h:1/api/chat?q=1"),
            ("http://h:1/v1#part", "/embeddings", "http://h:1/v1/embeddings"),
            ("http://h:1/a%20b", "/embeddings", "http://h:1/a%20b/embeddings"),
            ("http://user:pw@h:1/v1", "/embeddings", "http://user:pw@h:1/v1/embeddings"),
        ]
        for c in cases {
            #expect(EndpointURL.join(c.base, c.path) == c.url, "\(c.base) + \(c.path)")
        }
    }
}
