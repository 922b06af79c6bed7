import Foundation
import Query
import TestSupport
import Testing

/// `quiver query --tools` and the console's `:tools on`, against the loopback server
/// scripted to search twice.
@Suite struct ToolsCommandTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    func indexed() throws -> (dir: TemporaryDirectory, store: String) {
        let dir = TemporaryDirectory("quiver-cli-tools")
        let store = dir.sub("store")
        let r = try runProduct(["index", Self.data, "--store", store, "--embedder", "hash", "--json"])
        #expect(r.status == 0, "\(r.err)")
        return (dir, store)
    }

    func server() throws -> LoopbackServer {
        let server = try LoopbackServer()
        try server.control(
            #"""
            {"tool_plan": [[{"name": "search_documents", "arguments": {"query": "{question}", "k": 2}}],
                           [{"name": "search_documents", "arguments": {"query": "Fresnel lens", "k": 1}}]],
             "chat_reply": "Grace Darling rowed out [1]; the lens is Fresnel's [3]."}
            """#)
        return server
    }

    @Test func queryWithToolsSearchesAsTheModelAsks() throws {
        let (dir, store) = try indexed()
        defer { dir.remove() }
        let server = try server()
        let llm = ["--llm", "openai", "--model", "m", "--base-url", server.baseURL + "/v1"]
        let question = "Who rowed out to rescue the survivors of a shipwreck, and what lens do lighthouses use?"
        let r = try runProduct(["query", question, "--store", store, "--tools", "--json"] + llm)
        #expect(r.status == 0, "\(r.err)")
        let out = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(out["answer"] as? String == "Grace Darling rowed out [1]; the lens is Fresnel's [3].")
        #expect(out["citations"] as? [Int] == [1, 3])
        let hits = try #require(out["hits"] as? [[String: Any]])
        #expect(hits.map { $0["number"] as? Int } == [1, 2, 3])
        #expect(hits.first?["document"] as? String == "keepers/famous-keepers.txt")
        let steps = try #require(out["steps"] as? [[String: Any]])
        #expect(steps.count == 3)
        #expect(
            steps.compactMap { ($0["calls"] as? [[String: Any]])?.first?["tool"] as? String } == ["search_documents", "search_documents"])
        #expect(((out["usage"] as? [String: Int])?["prompt_tokens"] ?? 0) > 0)
        // As text: the answer, the steps, the sources with the cited ones marked.
        let text = try runProduct(["query", question, "--store", store, "--tools"] + llm)
        #expect(text.status == 0, "\(text.err)")
        #expect(text.out.contains("3 steps, 2 tool calls"))
        #expect(text.out.contains(#"called search_documents {"query": "Fresnel lens", "k": 1}"#))
        #expect(text.out.contains("*[1] keepers/famous-keepers.txt"))
        // Without a model there is nobody to call the tools.
        let none = try runProduct(["query", question, "--store", store, "--tools"])
        #expect(none.status == 1)
        #expect(none.err.contains("needs a language model") && none.err.contains("--llm openai"))
    }

    @Test func replToolsOn() throws {
        let (dir, store) = try indexed()
        defer { dir.remove() }
        let server = try server()
        let input = """
            :tools on
            Who rowed out to rescue the survivors of a shipwreck?
            :sources
            :stats
            :tools off
            Who rowed out?
            :tools maybe
            :quit

            """
        let r = try runProduct(
            ["repl", "--store", store, "--llm", "openai", "--model", "m", "--base-url", server.baseURL + "/v1"], input: input)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("tools on: the model searches the collection itself"))
        #expect(r.out.contains("Grace Darling rowed out [1]; the lens is Fresnel's [3]."))
        #expect(r.out.contains("(3 steps, 2 tool calls,"))
        #expect(r.out.contains("[3] technology/fresnel-lens.html"), "\(r.out)")
        #expect(r.out.contains("answers     openai/m, with tools"))
        #expect(r.out.contains("tools off"))
        #expect(r.out.contains("usage: :tools on|off (now off)"))
        // Without a model the console refuses.
        let plain = try runProduct(["repl", "--store", store], input: ":tools on\n:quit\n")
        #expect(plain.out.contains("needs a language model"))
    }
}
