import CCurl
import Foundation

/// One request's state around a curl easy handle: the response being received, and the
/// continuation of an async caller. Callbacks reach it through `Unmanaged` (C function
/// pointers cannot capture).
///
/// `@unchecked Sendable`: a transfer is used by one thread at a time — the caller's while
/// it configures, then curl's (sync caller or multi loop) until it completes; `finish`
/// runs once, on that thread.
final class CurlTransfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    let url: String
    var status = 0
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    var continuation: CheckedContinuation<HTTPResponse, Error>?
    var cancelled = false
    /// The current header block belongs to a 1xx response.
    var interim = false
    /// Streaming mode: the head (status and headers) is delivered once headers end, body
    /// chunks as they arrive; `continuation` is not used.
    var streaming: StreamingSink?

    init(easy: UnsafeMutableRawPointer, request: HTTPRequest, configuration: HTTPClient.Configuration, streaming: Bool = false) throws {
        self.easy = easy
        url = request.url
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        curl_easy_reset(easy)
        let me = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func set(_ o: CURLoption, _ v: Int) { ok = ok && quiver_curl_easy_setopt_long(easy, o, v) == CURLE_OK }
        func set(_ o: CURLoption, _ p: UnsafeRawPointer?) { ok = ok && quiver_curl_easy_setopt_ptr(easy, o, p) == CURLE_OK }
        request.url.withCString { set(CURLOPT_URL, $0) }  // curl copies strings
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_ERRORBUFFER, UnsafeRawPointer(errorBuffer))
        set(CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout.milliseconds))
        var total = configuration.requestTimeout
        if let deadline = request.deadline {
            total = min(total, deadline - .now)
            if total <= .zero {
                throw HTTPError(.timeout, url: request.url, message: "the call's deadline passed before it started")
            }
        }
        if streaming && request.deadline == nil {
            // A stream may last longer than any total timeout: fail it only when data stops.
            set(CURLOPT_LOW_SPEED_LIMIT, 1)
            set(CURLOPT_LOW_SPEED_TIME, max(1, Int(configuration.requestTimeout.seconds.rounded(.up))))
        } else {
            set(CURLOPT_TIMEOUT_MS, max(1, Int(total.milliseconds)))
        }
        set(CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0)
        set(CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0)
        set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        set(CURLOPT_TCP_KEEPALIVE, 1)
        let method = request.method.uppercased()
        if let body = request.body ?? (method == "POST" || method == "PUT" || method == "PATCH" ? [] : nil) {
            // A non-nil pointer even for an empty body (nil would make curl read stdin).
            ok = ok && quiver_curl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)) == CURLE_OK
            body.withUnsafeBytes { set(CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(errorBuffer)) }
            if method != "POST" { method.withCString { set(CURLOPT_CUSTOMREQUEST, $0) } }
        } else if method == "GET" {
            set(CURLOPT_HTTPGET, 1)
        } else if method == "HEAD" {
            set(CURLOPT_NOBODY, 1)  // a custom HEAD would wait for a body
        } else {
            method.withCString { set(CURLOPT_CUSTOMREQUEST, $0) }
        }
        for (name, value) in request.headers + [("Expect", "")] {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        set(CURLOPT_HTTPHEADER, UnsafeRawPointer(headerList))
        ok = ok && quiver_curl_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION, curlWrite) == CURLE_OK
        set(CURLOPT_WRITEDATA, UnsafeRawPointer(me))
        ok = ok && quiver_curl_easy_setopt_write(easy, CURLOPT_HEADERFUNCTION, curlHeader) == CURLE_OK
        set(CURLOPT_HEADERDATA, UnsafeRawPointer(me))
        guard ok else {
            throw HTTPError(.invalidRequest, url: request.url, message: "libcurl rejected an option of the request")
        }
    }

    deinit {
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// The response, or the error for a finished transfer with curl's result `code`.
    func result(_ code: CURLcode) -> Result<HTTPResponse, Error> {
        if cancelled {
            return .failure(HTTPError(.cancelled, url: url, message: "the request was cancelled"))
        }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            let kind: HTTPError.Code = code == CURLE_OPERATION_TIMEDOUT ? .timeout : .transport
            return .failure(HTTPError(kind, url: url, message: "\(text) (libcurl \(code.rawValue))"))
        }
        var status = 0
        _ = quiver_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: headers, body: body))
    }
}

/// Appends a body chunk.
private let curlWrite: curl_write_callback = { data, size, count, user in
    guard let data, let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let n = size * count
    let chunk = data.withMemoryRebound(to: UInt8.self, capacity: n) { Array(UnsafeBufferPointer(start: $0, count: n)) }
    if let sink = transfer.streaming {
        sink.head(transfer)
        sink.chunks.yield(chunk)
    } else {
        transfer.body.append(contentsOf: chunk)
    }
    return n
}

/// Records a header line; a new status line (redirect, 100-continue) starts over.
private let curlHeader: curl_write_callback = { data, size, count, user in
    guard let data, let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let n = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: n) {
        String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        transfer.headers.removeAll()
        transfer.interim = line.split(separator: " ").dropFirst().first.map { $0.hasPrefix("1") } ?? false
    } else if line == "\r\n" || line == "\n" {
        // The end of a final header block: a stream's head is complete.
        if !transfer.interim, let sink = transfer.streaming { sink.head(transfer) }
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        transfer.headers.append((name, value))
    }
    return n
}

/// Where a streaming transfer delivers its head and body.
final class StreamingSink: @unchecked Sendable {
    /// Resumed once with the head, or with the error if the transfer ends first.
    var headContinuation: CheckedContinuation<(Int, [(String, String)]), Error>?
    let chunks: AsyncThrowingStream<[UInt8], Error>.Continuation

    init(chunks: AsyncThrowingStream<[UInt8], Error>.Continuation) {
        self.chunks = chunks
    }

    /// Delivers the head before the first body byte (once).
    func head(_ t: CurlTransfer) {
        guard let c = headContinuation else { return }
        headContinuation = nil
        var status = 0
        _ = quiver_curl_easy_getinfo_long(t.easy, CURLINFO_RESPONSE_CODE, &status)
        c.resume(returning: (status, t.headers))
    }

    /// Ends the stream (and delivers the head of a bodiless response).
    func finish(_ t: CurlTransfer, _ result: Result<HTTPResponse, Error>) {
        switch result {
        case .success:
            head(t)
            chunks.finish()
        case .failure(let error):
            if let c = headContinuation {
                headContinuation = nil
                c.resume(throwing: error)
            }
            chunks.finish(throwing: error)
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
