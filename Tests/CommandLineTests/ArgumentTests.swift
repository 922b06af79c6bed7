import Foundation
import TestSupport
import Testing

/// How `quiver` reads its arguments: fixed choices are enums that argument-parser checks,
/// and `--verbose` is a flag accepted anywhere on the line.
@Suite struct ArgumentTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    /// Each choice's flag, a command line that takes it (with `store`, where the command
    /// has one), and every documented spelling, as the README lists them.
    static func choices(store: String) -> [(command: [String], flag: String, values: [String])] {
        [
            (["index", data, "--store", store], "--embedder", ["local", "hash", "openai", "ollama"]),
            (["embed", "x"], "--embedder", ["local", "hash", "openai", "ollama"]),
            (["index", data, "--store", store], "--splitter", ["recursive", "markdown", "sentence", "token", "character"]),
            (["query", "x", "--store", store], "--llm", ["none", "openai", "ollama"]),
            (["repl", "--store", store], "--llm", ["none", "openai", "ollama"]),
        ]
    }

    @Test func anInvalidChoiceIsAUsageErrorNamingTheValidValues() throws {
        let dir = TemporaryDirectory("quiver-arguments")
        defer { dir.remove() }
        for (command, flag, values) in Self.choices(store: dir.sub("store")) {
            let r = try runProduct(command + [flag, "nope"])
            let line = (command + [flag, "nope"]).joined(separator: " ")
            #expect(r.status == 2, "\(line): \(r.err)")
            #expect(r.err.contains("'nope'") && r.err.contains(flag), "\(line): \(r.err)")
            for value in values { #expect(r.err.contains("'\(value)'"), "\(line) names \(value): \(r.err)") }
            #expect(r.out.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.sub("store")), "a usage error writes nothing")
    }

    @Test func theHelpListsEachChoicesValues() throws {
        for (command, flag, values) in Self.choices(store: "unused") {
            let help = try runProduct([command[0], "--help"])
            #expect(help.status == 0)
            let text = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text.contains(flag), "\(command[0]) --help: \(help.out)")
            #expect(text.contains("(values: \(values.joined(separator: ", "))"), "\(command[0]) --help: \(help.out)")
        }
    }

    @Test func anInvalidLLMInTheEnvironmentIsAUsageError() throws {
        let r = try runProduct(["query", "x", "--store", "/nonexistent"], environment: ["QUIVER_LLM": "gpt"])
        #expect(r.status == 2)
        #expect(r.err.contains("QUIVER_LLM") && r.err.contains("gpt"))
    }

    @Test func verboseIsAcceptedBeforeAfterAndAmongTheSubcommandsOptions() throws {
        let dir = TemporaryDirectory("quiver-verbose")
        defer { dir.remove() }
        let store = dir.sub("store")
        let index = try runProduct(["index", Self.data + "/history", "--store", store, "--embedder", "hash", "--json"])
        #expect(index.status == 0, "\(index.err)")

        func planLines(_ r: ProcessOutput) -> [Substring] {
            r.err.split(separator: "\n").filter { $0.hasPrefix("search: ") }
        }
        let search = ["search", "Eddystone", "--store", store, "-k", "1", "--json"]
        let quiet = try runProduct(search)
        #expect(quiet.status == 0, "\(quiet.err)")
        #expect(planLines(quiet).isEmpty)
        for arguments in [
            search + ["--verbose"], search + ["-v"], ["search", "Eddystone", "--verbose", "--store", store, "-k", "1", "--json"],
            ["--verbose", "search", "Eddystone", "--store", store, "-k", "1", "--json"],
            ["-v"] + search,
        ] {
            let r = try runProduct(arguments)
            #expect(r.status == 0, "\(arguments): \(r.err)")
            #expect(planLines(r).count == 1, "\(arguments): \(r.err)")
            #expect(r.out == quiet.out, "--verbose changes standard error only")
        }

        // Index: the documents, one line each, after the summary.
        let again = try runProduct(["index", Self.data + "/history", "--store", store, "--embedder", "hash", "--dry-run", "--verbose"])
        #expect(again.status == 0, "\(again.err)")
        #expect(again.out.contains("  same    eddystone.md"))
        let plain = try runProduct(["index", Self.data + "/history", "--store", store, "--embedder", "hash", "--dry-run"])
        #expect(!plain.out.contains("  same    "))
    }

    @Test func verboseAddsDetailToErrorsWhereverItStands() throws {
        let dir = TemporaryDirectory("quiver-verbose-errors")
        defer { dir.remove() }
        let nowhere = dir.sub("nowhere")
        let plain = try runProduct(["stats", "--store", nowhere])
        #expect(plain.status == 1)
        #expect(plain.err.hasPrefix("error: ") && plain.err.contains("hint: "))
        #expect(!plain.err.contains("detail:"))
        for arguments in [
            ["stats", "--store", nowhere, "--verbose"], ["stats", "-v", "--store", nowhere], ["--verbose", "stats", "--store", nowhere],
        ] {
            let r = try runProduct(arguments)
            #expect(r.status == 1, "\(arguments)")
            #expect(r.err.hasPrefix("error: ") && r.err.contains("hint: ") && r.err.contains("\ndetail: "), "\(arguments): \(r.err)")
        }
        // A usage error is argument-parser's message and exit code 2, verbose or not.
        let usage = try runProduct(["search", "--store", nowhere, "--verbose"])
        #expect(usage.status == 2)
        #expect(!usage.err.contains("detail:"))
    }

    /// Paths Foundation's `NSString` path methods stop the process on (Linux): a file with
    /// a one-character name in the working directory (`deletingLastPathComponent` of "a"),
    /// and a doubled slash before a non-ASCII name. `quiver index` crashed on the first.
    @Test func oneCharacterAndDoubledSlashPathsAreIndexed() throws {
        let dir = TemporaryDirectory("quiver-paths")
        defer { dir.remove() }
        try "A note with one letter for a name.".write(toFile: dir.sub("a"), atomically: true, encoding: .utf8)
        try "Le café du matin.".write(toFile: dir.sub("é"), atomically: true, encoding: .utf8)
        try "# Notes\n\nUn résumé.".write(toFile: dir.sub("résumé.md"), atomically: true, encoding: .utf8)
        let store = dir.sub("store")
        // Files without an extension are read and found to be no format a parser takes
        // (plain text is recognised by its extension): reported, not indexed.
        for (path, id, added) in [("a", "a", false), ("é", "é", false), (dir.path + "//résumé.md", "résumé.md", true)] {
            let r = try runProduct(["index", path, "--store", store, "--embedder", "hash", "--json"], in: dir.path)
            #expect(r.status == 0, "\(path): \(r.err.suffix(300))")
            let expected = added ? "\"added\":[\"\(id)\"]" : "\"issues\":[\"\(id): unsupported"
            #expect(r.out.contains(expected), "\(path): \(r.out.prefix(300))")
            let dry = try runProduct(
                ["index", path, "--store", dir.sub("dry-\(id.utf8.count)"), "--embedder", "hash", "--dry-run"], in: dir.path)
            #expect(dry.status == 0, "dry run of \(path): \(dry.err.suffix(300))")
        }
    }
}
