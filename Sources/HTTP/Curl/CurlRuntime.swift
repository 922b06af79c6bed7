import CCurl

/// libcurl's process-wide state. The transport of the HTTP/embedding issue builds on it.
package enum CurlRuntime {
    /// Initializes libcurl once (thread-safe in libcurl ≥ 7.84).
    package static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// The linked libcurl's version line, e.g. "libcurl/7.88.1 OpenSSL/3.0.15 …".
    package static var version: String {
        guard let v = curl_version() else { return "unknown" }
        return String(cString: v)
    }
}
