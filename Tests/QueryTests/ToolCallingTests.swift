import Foundation
import Query
import Testing
import TestSupport

/// Tool calling in the OpenAI-compatible and Ollama chat clients, against the loopback
/// server's scripted tool calls.
@Suite struct ToolCallingTests {
    enum Provider: CaseIterable { case openai, ollama }

    func client(_ provider: Provider, _ server: LoopbackServer) throws -> any LanguageModel {
        let caller = ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10)))
        switch provider {
        case .openai: return try OpenAIChat(model: "m", baseURL: server.baseURL + "/v1", caller: caller)
        case .ollama: return try OllamaChat(model: "m", host: server.baseURL, caller: caller)
        }
    }

    func lastChat(_ server: LoopbackServer) throws -> [String: Any] {
        let response = try HTTPClient().send(HTTPRequest(url: server.baseURL + "/last_chat"))
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    static let weather = ToolDefinition(
        name: "weather", description: "Today's weather in a city",
        parameters: ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]])
    static let clock = ToolDefinition(name: "clock", description: "The time in a city")

    @Test(arguments: Provider.allCases, [false, true])
    func aReplyCallsOneToolWholeOrStreamed(_ provider: Provider, _ streamed: Bool) async throws {
        let server = try LoopbackServer()
        try server.control(#"{"tool_plan": [[{"name": "weather", "arguments": {"city": "Oslo – {question}"}}]]}"#)
        let llm = try client(provider, server)
        let options = CompletionOptions(tools: [Self.weather, Self.clock], toolChoice: .required)
        let reply =
            try await streamed ? llm.collect([.user("Bergen")], options: options) : llm.complete([.user("Bergen")], options: options)
        #expect(reply.toolCalls.count == 1)
        let call = try #require(reply.toolCalls.first)
        #expect(call.name == "weather")
        #expect(try call.parsedArguments() == ["city": "Oslo – Bergen"])
        #expect(call.id == (provider == .openai ? "call_0_0" : "call_0"))
        #expect(reply.text.isEmpty)
        if provider == .openai { #expect(reply.finishReason == "tool_calls") }
        #expect(reply.usage != nil)
        // The request offered both tools with their schemas, and (OpenAI) the choice.
        let sent = try lastChat(server)
        let tools = try #require(sent["tools"] as? [[String: Any]])
        #expect(tools.compactMap { ($0["function"] as? [String: Any])?["name"] as? String } == ["weather", "clock"])
        #expect(tools.allSatisfy { $0["type"] as? String == "function" })
        let schema = (tools[0]["function"] as? [String: Any])?["parameters"] as? [String: Any]
        #expect(schema?["required"] as? [String] == ["city"])
        if provider == .openai { #expect(sent["tool_choice"] as? String == "required") }
    }

    /// Two calls whose argument fragments arrive interleaved across many events come out
    /// whole, in the order the calls were opened.
    @Test(arguments: Provider.allCases)
    func parallelStreamedCallsAreAssembled(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        try server.control(
            #"""
            {"tool_plan": [[{"name": "weather", "arguments": {"city": "Tromsø 🌧", "days": 3}},
                            {"name": "clock", "arguments": {"city": "Nuuk", "format": "24h"}}]], "stream_delay_ms": 1}
            """#)
        let llm = try client(provider, server)
        var deltas: [CompletionDelta] = []
        for try await d in llm.stream([.user("q")], options: CompletionOptions(tools: [Self.weather, Self.clock])) { deltas.append(d) }
        // The calls go out whole, once, on the last delta.
        #expect(deltas.dropLast().allSatisfy { $0.toolCalls.isEmpty })
        let calls = try #require(deltas.last?.toolCalls)
        #expect(calls.map(\.name) == ["weather", "clock"])
        #expect(try calls[0].parsedArguments() == ["city": "Tromsø 🌧", "days": 3])
        #expect(try calls[1].parsedArguments() == ["city": "Nuuk", "format": "24h"])
        #expect(Set(calls.map(\.id)).count == 2)
        let whole = try await llm.complete([.user("q")], options: CompletionOptions(tools: [Self.weather, Self.clock]))
        #expect(whole.toolCalls.map(\.name) == calls.map(\.name))
        #expect(try whole.toolCalls.map { try $0.parsedArguments() } == calls.map { try $0.parsedArguments() })
    }

    @Test(arguments: Provider.allCases)
    func toolResultsGoBackInTheProvidersForm(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        try server.control(#"{"tool_plan": [[{"name": "weather", "arguments": {"city": "Oslo"}}]]}"#)
        let llm = try client(provider, server)
        let options = CompletionOptions(tools: [Self.weather])
        let first = try await llm.complete([.user("Weather?")], options: options)
        let call = try #require(first.toolCalls.first)
        let conversation: [ChatMessage] = [
            .user("Weather?"), .assistant(first.text, toolCalls: first.toolCalls), .tool("rain, 7 °C", for: call),
        ]
        let answer = try await llm.complete(conversation, options: options)
        #expect(answer.toolCalls.isEmpty)
        #expect(answer.text == "Tools said: rain, 7 °C. See [1].")
        let messages = try #require(lastChat(server)["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "tool"])
        let sentCall = try #require((messages[1]["tool_calls"] as? [[String: Any]])?.first)
        let function = try #require(sentCall["function"] as? [String: Any])
        #expect(function["name"] as? String == "weather")
        switch provider {
        case .openai:
            #expect(sentCall["id"] as? String == call.id && sentCall["type"] as? String == "function")
            #expect(function["arguments"] as? String == call.arguments)  // JSON text, as received
            #expect(messages[2]["tool_call_id"] as? String == call.id)
        case .ollama:
            #expect(function["arguments"] as? [String: String] == ["city": "Oslo"])  // an object
            #expect(messages[2]["tool_name"] as? String == "weather")
        }
        #expect(messages[2]["content"] as? String == "rain, 7 °C")
    }

    @Test func toolChoiceAndNoTools() async throws {
        let server = try LoopbackServer()
        let openai = try client(.openai, server)
        _ = try await openai.complete([.user("q")], options: CompletionOptions(tools: [Self.clock], toolChoice: .tool("clock")))
        let choice = try lastChat(server)["tool_choice"] as? [String: Any]
        #expect(choice?["type"] as? String == "function")
        #expect((choice?["function"] as? [String: String])?["name"] == "clock")
        // Without tools, nothing about them is sent.
        _ = try await openai.complete([.user("q")])
        #expect(try lastChat(server)["tools"] == nil && lastChat(server)["tool_choice"] == nil)
        // Ollama has no tool_choice: "none" offers no tools.
        let ollama = try client(.ollama, server)
        _ = try await ollama.complete([.user("q")], options: CompletionOptions(tools: [Self.clock], toolChoice: ToolChoice.none))
        #expect(try lastChat(server)["tools"] == nil)
    }

    @Test func malformedArgumentsArePassedOnAsText() async throws {
        let server = try LoopbackServer()
        try server.control(#"{"tool_plan": [[{"name": "weather", "arguments": "{\"city\": \"Os"}]]}"#)
        for provider in Provider.allCases {
            let reply = try await client(provider, server).collect([.user("q")], options: CompletionOptions(tools: [Self.weather]))
            let call = try #require(reply.toolCalls.first)
            #expect(call.arguments == #"{"city": "Os"#)
            let error = #expect(throws: QueryError.self) { try call.parsedArguments() }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test func messagesDecodeWithoutToolFields() throws {
        let old = try JSONDecoder().decode(ChatMessage.self, from: Data(#"{"role": "user", "content": "hi"}"#.utf8))
        #expect(old == .user("hi"))
        let call = ToolCall(id: "c1", name: "clock", arguments: "{}")
        let messages: [ChatMessage] = [.assistant("", toolCalls: [call]), .tool("12:00", for: call)]
        let back = try JSONDecoder().decode([ChatMessage].self, from: JSONEncoder().encode(messages))
        #expect(back == messages)
        #expect(back[1].toolCallID == "c1" && back[1].toolName == "clock")
    }
}
