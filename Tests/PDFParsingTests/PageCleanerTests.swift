import Testing

@testable import PDFParsing

@Suite struct PageCleanerTests {
    @Test func hyphenatedLineEndsJoin() {
        #expect(PageCleaner.joinHyphenatedWords("the infor-\nmation board") == "the information\nboard")
        #expect(PageCleaner.joinHyphenatedWords("in win-\nter, weather") == "in winter,\nweather")
        // The whole next line was the rest of the word: the lines merge.
        #expect(PageCleaner.joinHyphenatedWords("a light-\nhouse\nstands") == "a lighthouse\nstands")
        // A soft hyphen too.
        #expect(PageCleaner.joinHyphenatedWords("the recol\u{AD}\nlections") == "the recollections")
        // Chains: a joined line that ends in a hyphen itself.
        #expect(PageCleaner.joinHyphenatedWords("ab-\ncd ef-\ngh") == "abcd\nefgh")
    }

    @Test(arguments: [
        "North-\nEast",  // a capital: a compound or a name, not a broken word
        "1850-\n1860",  // numbers
        "a list -\nitem",  // a dash after a space
        "end-\n",  // nothing follows
        "- \nnext",  // a hyphen that is not at the line end
    ])
    func otherHyphensStay(_ text: String) {
        #expect(PageCleaner.joinHyphenatedWords(text) == text)
    }

    static let words = ["lamp", "lens", "tower", "keeper", "storm", "beacon", "reef", "fog", "signal"]

    static func page(_ n: Int) -> String {
        "Annual Report 2023\n\nThe \(words[n - 1]) was checked.\nAll was well with the \(words[9 - n]).\n\nPage \(n) of 9"
    }

    @Test func runningHeadersAndNumberedFootersAreDropped() {
        let cleaned = PageCleaner.clean((1...9).map(Self.page))
        #expect(cleaned[0] == "The lamp was checked.\nAll was well with the signal.")
        #expect(cleaned[8] == "The signal was checked.\nAll was well with the lamp.")
    }

    @Test func linesRepeatedOnFewPagesStay() {
        // A heading at the top of 2 of 9 pages is content.
        var pages = (1...9).map { "Section \($0)\nThe \(Self.words[$0 - 1]) text\nfooter \($0)" }
        pages[2] = "Summary\n" + pages[2]
        pages[5] = "Summary\n" + pages[5]
        let cleaned = PageCleaner.clean(pages)
        #expect(cleaned[2].hasPrefix("Summary\n"))
        // "Section N" and "footer N" repeat (digits aside) on every page: dropped.
        #expect(cleaned[0] == "The lamp text")
    }

    /// A page whose every line looks like a header keeps them all: it has nothing else.
    @Test func aPageIsNeverEmptiedByTheRule() {
        let pages = (1...4).map { "Chapter \($0)\nslide \($0)" }
        #expect(PageCleaner.clean(pages) == pages)
    }

    @Test func twoPagesAreTooFewToCallAnythingAHeader() {
        let pages = ["Title\nfirst", "Title\nsecond"]
        #expect(PageCleaner.clean(pages) == pages)
    }

    @Test func onlyEdgesAreStripped() {
        // The header text also inside the body stays there.
        let pages = (1...4).map { "Quiver\nbody \(Self.words[$0])\nQuiver\nend \(Self.words[$0 + 4])\nfoot" }
        #expect(PageCleaner.clean(pages)[0] == "body lens\nQuiver\nend beacon")
    }

    @Test func normalization() {
        #expect(PageCleaner.normalize("  Page 12  of 30 ") == "page # of #")
        #expect(PageCleaner.normalize("- 7 -") == "- # -")
        #expect(PageCleaner.normalize("Chapter\r\n 3\t\u{0B}IV") == "chapter # iv")
        #expect(PageCleaner.normalize("Seite 12 — Übersicht") == "seite # — übersicht")
    }

    /// The byte-by-byte path for ASCII lines says what the character-by-character one says,
    /// on every ASCII byte (controls, CR LF, digits, capitals) in seeded random lines.
    @Test func asciiNormalizationMatchesTheUnicodePath() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        let pieces = ["\r\n", "\r", "\n", " ", "  ", "\t", "12", "Page", "of", "IV", "-", "#"]
        for _ in 0..<2_000 {
            var line = ""
            for _ in 0..<(next() % 24) {
                if next() % 2 == 0 {
                    line.unicodeScalars.append(Unicode.Scalar(UInt8(next() % 128)))
                } else {
                    line += pieces[next() % pieces.count]
                }
            }
            #expect(PageCleaner.asciiNormalized(line) == PageCleaner.unicodeNormalized(line), "\(Array(line.utf8))")
        }
        #expect(PageCleaner.asciiNormalized("Übersicht") == nil)
    }
}

@Suite struct WorkerFrameTests {
    @Test func framesRoundTrip() throws {
        let request = WorkerFrame.request(pdf: [1, 2, 3], passwords: ["", "pässword"])
        let decoded = try #require(request.decodeRequest())
        #expect(decoded.passwords == ["", "pässword"])
        #expect(Array(decoded.pdf) == [1, 2, 3])
        let info = try #require(WorkerFrame.info(pages: 12, title: "Tïtle", author: nil).decodeInfo())
        #expect(info.pages == 12 && info.title == "Tïtle" && info.author == nil)
        let page = try #require(WorkerFrame.page(3, text: "text\nmore").decodePage())
        #expect(page.index == 3 && page.text == "text\nmore")
        let failure = try #require(WorkerFrame.failure(.encrypted, "locked").decodeFailure())
        #expect(failure.reason == .encrypted && failure.message == "locked")
        let encoded = WorkerFrame.page(1, text: "x").encoded
        #expect(WorkerFrame.header(encoded)?.kind == .page)
        #expect(WorkerFrame.header(encoded)?.length == 5)
    }

    @Test func malformedPayloadsAreRefused() {
        #expect(WorkerFrame(kind: .request, payload: [9, 0, 0, 0, 1]).decodeRequest() == nil)  // 9 passwords, none there
        #expect(WorkerFrame(kind: .request, payload: [200, 0, 0, 0]).decodeRequest() == nil)  // too many
        #expect(WorkerFrame(kind: .info, payload: [1, 0, 0, 0, 5, 0, 0, 0, 65]).decodeInfo() == nil)  // short title
        #expect(WorkerFrame(kind: .page, payload: [1, 0]).decodePage() == nil)
        #expect(WorkerFrame(kind: .failure, payload: [99]).decodeFailure() == nil)
        #expect(WorkerFrame.header([0x50, 0, 0, 0]) == nil)  // short header
        #expect(WorkerFrame.header([0x7A, 0, 0, 0, 0]) == nil)  // unknown kind
        #expect(WorkerFrame.header([0x50, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)  // longer than any payload
    }
}
