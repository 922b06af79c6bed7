import Foundation
import TestSupport
import Testing

@testable import HTTP

/// The retry loop and breaker against the loopback server.
@Suite struct ResilientCallerTests {
    func request(_ server: LoopbackServer, deadline: ContinuousClock.Instant? = nil, headers: [(String, String)] = []) -> HTTPRequest {
        HTTPRequest(
            method: "POST", url: server.baseURL + "/v1/embeddings", headers: [("Content-Type", "application/json")] + headers,
            body: Array(#"{"input": ["x"]}"#.utf8), deadline: deadline)
    }

    @Test func aProbeThatGetsAClientErrorClosesTheCircuit() throws {
        let server = try LoopbackServer()
        let caller = ResilientCaller(
            client: HTTPClient(), policy: .none, breaker: CircuitBreaker(threshold: 1, coolDown: .zero))
        try server.control(#"{"faults": [{"status": 500}, {"status": 401}]}"#)
        #expect(throws: HTTPError.self) { try caller.send(request(server)) }  // opens the circuit
        let probe = #expect(throws: HTTPError.self) { try caller.send(request(server)) }  // the probe: 401
        #expect(probe?.status == 401)
        #expect(caller.breakerState == .closed(failures: 0))  // the server answered
        #expect(try caller.send(request(server)).status == 200)
    }

    /// The first attempt answers 500 well inside the deadline; the retry's wait (1 s) would
    /// end past it, so the call stops there with the server's answer. (With a 100 ms wait
    /// and a 150 ms deadline, a loaded machine's first attempt alone outlasted the deadline
    /// and the call failed as a timeout instead.)
    @Test func retriesStopAtTheCallsDeadline() throws {
        let server = try LoopbackServer()
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(1), jitter: 0, maxTotalWait: .seconds(60))
        let caller = ResilientCaller(client: HTTPClient(), policy: policy, breaker: CircuitBreaker(threshold: 3))
        try server.control(#"{"faults": [\#(Array(repeating: #"{"status": 500}"#, count: 10).joined(separator: ","))]}"#)
        let error = #expect(throws: HTTPError.self) { try caller.send(request(server, deadline: .now + .milliseconds(900))) }
        #expect(error?.status == 500)
        #expect((error?.attempts ?? 99) <= 2)
        #expect((try server.stats()["requests"] ?? 99) <= 2)
    }

    @Test func secretsStayOutOfDescriptionsDumpsAndEchoedMessages() {
        let key = "sk-abcdefgh12345678"
        let r = HTTPRequest(method: "POST", url: "http://user:pw@127.0.0.1:1/v1?key=\(key)", headers: [("Authorization", "Bearer \(key)")])
        var dumped = ""
        dump(r, to: &dumped)
        dump(Secret(key), to: &dumped)
        #expect(!dumped.contains(key))
        #expect(!"\(r)".contains(key))
        #expect("\(r)".contains("Authorization"))
        #expect(ResilientCaller.scrub("invalid key Bearer \(key) given", r) == "invalid key <redacted> given")
        #expect(ResilientCaller.scrub("bad key: \(key)", r) == "bad key: <redacted>")
    }

    @Test func headRequestsDoNotWaitForABody() async throws {
        let server = try LoopbackServer()
        let r = try await HTTPClient().send(HTTPRequest(method: "HEAD", url: server.baseURL + "/stats"))
        #expect(r.status == 501)  // the fixture implements no HEAD; what matters is the answer arrives
        #expect(r.body.isEmpty)
    }
}
