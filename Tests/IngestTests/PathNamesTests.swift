import Foundation
import Ingest
import Testing

/// `PathNames` finds what Foundation's `NSString` path methods find, without their traps
/// (on Linux they stop the process for "a//é", "///a//", and the parent of "a").
@Suite struct PathNamesTests {
    /// Foundation's answers, asked only of paths it handles: with slashes merged first
    /// (merging them is what traps), which does not change its answers; and the parent of
    /// one relative component ("a", "x/"), where `deletingLastPathComponent` traps too,
    /// is "" as its source says.
    static func foundation(_ path: String) -> (last: String, parent: String, ext: String) {
        var merged = ""
        for c in path where !(c == "/" && merged.last == "/") { merged.append(c) }
        let s = merged as NSString
        var stripped = merged
        if stripped.count > 1 && stripped.last == "/" { stripped.removeLast() }
        let parent = stripped.count == 1 && stripped != "/" ? "" : s.deletingLastPathComponent
        return (s.lastPathComponent, parent, s.pathExtension)
    }

    static func check(_ p: String) {
        let expected = foundation(p)
        #expect(PathNames.lastComponent(p) == expected.last, "last component of \(p.debugDescription)")
        #expect(PathNames.parent(p) == expected.parent, "parent of \(p.debugDescription)")
        #expect(PathNames.fileExtension(p) == expected.ext, "extension of \(p.debugDescription)")
    }

    @Test func edgeCasesAgreeWithFoundation() {
        for p in [
            "", "/", ".", "..", "...", "a", ".a", "a.", "a..", "a.b", "a.B.TXT", "dir.d/file", "dir.d/file/", "/.hidden", "/x/..", "/x/.",
            "x/.y.z", "x/y.tar.gz", "./notes.MD", "../up/readme.Markdown", "a/b/c.", "a b/c d.e f", "/a", "/a/", "a/b", "/a/b/",
            "x.\u{301}y", "x/\u{301}y.z", "dossier/café.TXT", "папка/файл.PDF", "x/y.Ü", "emoji/📄.md", "📄", "a\r\n.b", "a.\r\n",
        ] {
            Self.check(p)
        }
    }

    /// The paths that stop Foundation, answered as it answers them once their slashes are
    /// merged.
    @Test func pathsThatTrapFoundation() {
        #expect(PathNames.fileExtension("a//é.TXT") == "TXT")
        #expect(PathNames.parent("docs//café.md") == "docs")
        #expect(PathNames.lastComponent("///a//") == "a")
        #expect(PathNames.lastComponent("..//md~//é") == "é")
        #expect(PathNames.parent("//é") == "/")
        #expect(PathNames.parent("a") == "")
        #expect(PathNames.parent("é/") == "")
        #expect(PathNames.fileExtension("notes//Guide.MD") == "MD")
        for p in ["a//é", "éB//é", "///a//", "..//md~//é", "//é", "md////x.y", "a///b//c.d//"] { Self.check(p) }
    }

    @Test func randomPathsAgreeWithFoundation() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["/", "//", ".", "..", "a", "B", "z9", " ", "é", "e\u{301}", "📄", "~", "TXT", "md", "\r\n", "\t", "я"]
        for _ in 0..<20_000 {
            Self.check((0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined())
        }
    }
}
