import Foundation
import TestSupport
import Testing

@testable import Ingest

@Suite struct GlobTests {
    /// The semantics `--include` and `--exclude` document.
    @Test func starsQuestionMarksAndSeparators() {
        let cases: [(pattern: String, path: String, matches: Bool)] = [
            ("*.md", "a.md", true), ("*.md", "sub/deep/a.md", true), ("*.md", "a.txt", false), ("*.md", "md", false),
            ("sub/*.md", "sub/a.md", true), ("sub/*.md", "sub/x/a.md", false), ("sub/*.md", "other/a.md", false),
            ("**/*.html", "c.html", true), ("**/*.html", "sub/c.html", true), ("**/*.html", "a/b/c.html", true),
            ("**/*.html", "a/b/c.htm", false), ("sub/**", "sub/a/b.txt", true), ("sub/**", "sub/", true),
            ("sub/**", "sub", false), ("sub/**", "other/a", false), ("a/**/b", "a/b", true), ("a/**/b", "a/x/y/b", true),
            ("?.txt", "a.txt", true), ("?.txt", "ab.txt", false), ("?.txt", ".txt", false), ("a?b/c", "a/b/c", false),
            ("a*b/c", "a/b/c", false), ("a**b/c", "a/x/b/c", true), ("*", "anything", true), ("*", "", true),
            ("", "", true), ("", "a", false), ("a/*", "a/", true), ("[ab].txt", "[ab].txt", true),
            ("[ab].txt", "a.txt", false), ("caf\u{E9}/*.md", "caf\u{E9}/r\u{E9}sum\u{E9}.md", true), ("*a*b", "xaxxb", true),
            ("*a*b", "xaxxbx", false), ("*/*", "a/b", true), ("*/*", "a/b/c", false), ("***", "a/b", true),
            // "**/" is whole folders: it once matched any prefix, as if the "/" were not there.
            ("**/x.md", "ax.md", false), ("**/x.md", "a/x.md", true), ("sub/**/x.md", "sub/ax.md", false),
            ("sub/**/x.md", "sub/a/b/x.md", true), ("**/*", "a", true),
        ]
        for c in cases {
            #expect(Glob.matches(c.pattern, c.path) == c.matches, "\(c.pattern) against \(c.path)")
        }
    }

    /// The first matcher, recursive with backtracking (with `**/` as zero or more folders):
    /// the reference the states must agree with (on inputs small enough for it to finish).
    static func reference(_ pattern: String, _ path: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let subject = pattern.contains("/") ? Substring(path) : path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        let s = Array(subject.unicodeScalars)
        func go(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == s.count }
            if p[i] == "*" {
                let doubleStar = i + 1 < p.count && p[i + 1] == "*"
                let next = doubleStar ? i + 2 : i + 1
                // "**/": no folder, else "**" then the "/".
                if doubleStar, next < p.count, p[next] == "/", go(next + 1, j) { return true }
                var k = j
                while true {
                    if go(next, k) { return true }
                    if k == s.count || (!doubleStar && s[k] == "/") { return false }
                    k += 1
                }
            }
            guard j < s.count else { return false }
            if p[i] == "?" { return s[j] != "/" && go(i + 1, j + 1) }
            return p[i] == s[j] && go(i + 1, j + 1)
        }
        return go(0, 0)
    }

    @Test func agreesWithTheBacktrackingMatcherOnRandomInputs() {
        var random = SeededGenerator(seed: 13)
        let patternAlphabet: [Character] = ["a", "b", "/", "*", "*", "?"]
        let pathAlphabet: [Character] = ["a", "b", "/"]
        var matched = 0
        for _ in 0..<20000 {
            let pattern = String((0..<Int.random(in: 0...7, using: &random)).map { _ in patternAlphabet.randomElement(using: &random)! })
            let path = String((0..<Int.random(in: 0...8, using: &random)).map { _ in pathAlphabet.randomElement(using: &random)! })
            let expected = Self.reference(pattern, path)
            #expect(Glob.matches(pattern, path) == expected, "\(pattern) against \(path)")
            if expected { matched += 1 }
        }
        #expect(matched > 1000)  // both outcomes are exercised
    }

    /// Eight stars against 64 `a`s: the backtracking matcher tried about 64^8 splits.
    @Test func pathologicalPatternsFinish() throws {
        let name = String(repeating: "a", count: 64)
        #expect(!Glob.matches("*a*a*a*a*a*a*a*a*b", name))
        #expect(Glob.matches("*a*a*a*a*a*a*a*a*b", name + "b"))
        let deep = Array(repeating: "a", count: 32).joined(separator: "/")
        #expect(!Glob.matches("**a**a**a**a**a**a**a**a**b", deep))
        #expect(!Glob.matches("*a*a*a*a*a*a*a*a*/b", name + "/" + name))

        // Through the loader, as `--include` uses it, on a real file.
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try "text".write(toFile: dir.sub(name), atomically: true, encoding: .utf8)
        try "text".write(toFile: dir.sub(name + "b"), atomically: true, encoding: .utf8)
        let files = DocumentLoader(options: .init(include: ["*a*a*a*a*a*a*a*a*b"])).walk(dir.path).files
        #expect(files == [name + "b"])
        let excluded = DocumentLoader(options: .init(exclude: ["*a*a*a*a*a*a*a*a*b"])).walk(dir.path).files
        #expect(excluded == [name])
    }
}
