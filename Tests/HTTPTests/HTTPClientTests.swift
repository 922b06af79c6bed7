import Foundation
import HTTP
import TestSupport
import Testing
import QuiverCore

/// The libcurl client against the real loopback server.
@Suite struct HTTPClientTests {
    func embedRequest(_ server: LoopbackServer, _ texts: [String], deadline: ContinuousClock.Instant? = nil) throws -> HTTPRequest {
        let body = try JSONSerialization.data(withJSONObject: ["model": "m", "input": texts])
        return HTTPRequest(
            method: "POST", url: server.baseURL + "/v1/embeddings", headers: [("Content-Type", "application/json")],
            body: Array(body), deadline: deadline)
    }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func syncAndAsyncRequestsReuseOneConnection() async throws {
        let server = try LoopbackServer()
        let client = HTTPClient()
        for _ in 0..<5 {
            let r = try blocking { try client.send(try embedRequest(server, ["a", "b"])) }
            #expect(r.status == 200)
            #expect(r.header("Content-Type") == "application/json")
            let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
            #expect((json?["data"] as? [Any])?.count == 2)
        }
        for _ in 0..<5 {
            let r = try await client.send(try embedRequest(server, ["c"]))
            #expect(r.status == 200)
        }
        let stats = try server.stats()
        #expect(stats["requests"] == 10)
        // One connection for the sync handle, one in the async pool (plus the stats
        // calls' own client). Not under a sanitizer: there a pause between two requests can
        // pass libcurl's 118 s limit on reusing an idle connection.
        if testSanitizer == nil { #expect((stats["connections"] ?? 99) <= 3) }
    }

    @Test func errorStatusesAreResponsesWithTheServersMessage() throws {
        let server = try LoopbackServer()
        try server.control(#"{"faults": [{"status": 429, "retry_after": "7"}]}"#)
        let client = HTTPClient()
        let r = try client.send(try embedRequest(server, ["a"]))
        #expect(r.status == 429)
        #expect(r.header("retry-after") == "7")
        #expect(r.serverMessage == "injected 429")
    }

    @Test func eightThreadsRunEightRequestsAtOnce() throws {
        let server = try LoopbackServer(["--latency-ms", "300"])
        let client = HTTPClient()
        let failures = PosixMutex(0)
        onThreads(8) { _ in
            do {
                let r = try client.send(try embedRequest(server, ["x"]))
                if r.status != 200 { failures.withLock { $0 += 1 } }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try server.stats()["max_in_flight"] == 8)
    }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func syncCallsFromManyTasksOnTheCooperativePoolAllComplete() async throws {
        let server = try LoopbackServer(["--latency-ms", "20"])
        let client = HTTPClient()
        let ok = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 {
                group.addTask {
                    try blocking { try client.send(try embedRequest(server, ["t\(i)"])) }.status
                }
            }
            var n = 0
            for try await status in group where status == 200 { n += 1 }
            return n
        }
        #expect(ok == 64)
        // And the async path under the same load.
        let asyncOK = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 { group.addTask { try await client.send(try embedRequest(server, ["u\(i)"])).status } }
            var n = 0
            for try await status in group where status == 200 { n += 1 }
            return n
        }
        #expect(asyncOK == 64)
        #expect((try server.stats()["max_in_flight"] ?? 0) > 2)
    }

    @Test func timeoutsDeadlinesAndCancellation() async throws {
        // Answers take 60 s: only a cancellation (or the timeouts below) ends a request
        // early. With 3 s, a loaded parallel run once resumed this test's 100 ms sleep so
        // late that the request had already been answered ("expected cancellation, got
        // success"); a working cancellation still ends the request at once.
        let server = try LoopbackServer(["--latency-ms", "60000"])
        var configuration = HTTPClient.Configuration()
        configuration.requestTimeout = .milliseconds(200)
        let client = HTTPClient(configuration: configuration)
        let sync = #expect(throws: HTTPError.self) { try client.send(try embedRequest(server, ["a"])) }
        #expect(sync?.code == .timeout)
        let patient = HTTPClient()
        let deadline = try await {
            do {
                _ = try await patient.send(try embedRequest(server, ["a"], deadline: .now + .milliseconds(200)))
                return HTTPError.Code?.none
            } catch let e as HTTPError { return e.code }
        }()
        #expect(deadline == .timeout)
        let task = Task { try await patient.send(try embedRequest(server, ["a"])) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        if case .failure(let e as HTTPError) = result {
            #expect(e.code == .cancelled)
        } else {
            Issue.record("expected cancellation, got \(result)")
        }
    }

    @Test func droppedConnectionsAndRefusedPortsAreTransportErrorsWithoutCredentials() async throws {
        let server = try LoopbackServer()
        try server.control(#"{"faults": [{"drop": true}]}"#)
        let client = HTTPClient()
        var request = try embedRequest(server, ["a"])
        request.url = request.url.replacingOccurrences(of: "http://", with: "http://user:hunter2@") + "?api_key=sk-secret"
        let dropped = #expect(throws: HTTPError.self) { try client.send(request) }
        #expect(dropped?.code == .transport)
        #expect(dropped?.description.contains("hunter2") == false)
        #expect(dropped?.description.contains("sk-secret") == false)
        #expect(dropped?.url == server.baseURL + "/v1/embeddings")
        // Nothing listens on port 9 of loopback.
        do {
            _ = try await client.send(HTTPRequest(url: "http://127.0.0.1:9/"))
            Issue.record("expected a refused connection")
        } catch let e as HTTPError {
            #expect(e.code == .transport)
        }
        #expect(Secret("sk-123").description == "<redacted>")
        #expect("\(Secret("sk-123"))" == "<redacted>")
    }
}
