import CCurl

/// libcurl's process-wide state, initialized once before the first handle.
package enum CurlRuntime {
    /// Initializes libcurl once (thread-safe in libcurl ≥ 7.84).
    package static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
