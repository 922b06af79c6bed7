/// Text of an HTML document: script, style, nav and template content dropped (the head's
/// title becomes the title),
/// headings and paragraph breaks kept, entities decoded, whitespace collapsed.
enum HTMLText {
    static let dropped: Set<String> = ["script", "style", "nav", "template", "noscript", "svg"]
    static let blocks: Set<String> = [
        "p", "div", "section", "article", "header", "footer", "main", "aside", "li", "ul", "ol", "table", "tr", "pre",
        "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "figure", "figcaption", "form", "hr",
    ]

    /// The text and the title (`<title>`, else the first `<h1>`).
    static func extract(_ html: String) -> (text: String, title: String?) {
        var out = ""
        var title: String?
        var h1: String?
        var capturing = false  // inside the first <h1>
        var captured = ""
        var skipUntil: String?  // a dropped element's closing tag
        var pendingSpace = false
        let s = Array(html.unicodeScalars)
        var i = 0
        func emitBreak(_ breaks: String) {
            while out.hasSuffix(" ") { out.removeLast() }
            if out.isEmpty { return }
            let trailing = out.reversed().prefix { $0 == "\n" }.count
            if trailing < breaks.count { out += String(repeating: "\n", count: breaks.count - trailing) }
            pendingSpace = false
        }
        while i < s.count {
            if s[i] == "<" {
                // A tag, comment or declaration.
                if i + 3 < s.count, s[i + 1] == "!", s[i + 2] == "-", s[i + 3] == "-" {
                    var j = i + 4
                    while j + 2 < s.count, !(s[j] == "-" && s[j + 1] == "-" && s[j + 2] == ">") { j += 1 }
                    i = j + 3
                    continue
                }
                var j = i + 1
                var quote: Unicode.Scalar?
                while j < s.count {
                    if let q = quote {
                        if s[j] == q { quote = nil }
                    } else if s[j] == "\"" || s[j] == "'" {
                        quote = s[j]
                    } else if s[j] == ">" {
                        break
                    }
                    j += 1
                }
                let inside = String(String.UnicodeScalarView(s[(i + 1)..<min(j, s.count)]))
                i = j + 1
                let closing = inside.hasPrefix("/")
                let name = inside.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
                if let until = skipUntil {
                    if closing && name == until { skipUntil = nil }
                    continue
                }
                if !closing && dropped.contains(name) && !inside.hasSuffix("/") {
                    skipUntil = name
                    continue
                }
                if name == "h1" {
                    if closing, capturing {
                        let t = captured.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                        if h1 == nil, !t.isEmpty { h1 = t }
                        capturing = false
                    } else if !closing {
                        capturing = true
                        captured = ""
                    }
                }
                if name == "title" {
                    if !closing { skipUntil = "title" }  // its text is the title, not body text
                    continue
                }
                if name == "br" {
                    emitBreak("\n")
                } else if blocks.contains(name) {
                    emitBreak("\n\n")
                }
                continue
            }
            // Text (up to the next tag), entities decoded.
            var j = i
            var run = ""
            while j < s.count, s[j] != "<" {
                if s[j] == "&", let (decoded, next) = entity(s, j) {
                    run.unicodeScalars.append(contentsOf: decoded.unicodeScalars)
                    j = next
                } else {
                    run.unicodeScalars.append(s[j])
                    j += 1
                }
            }
            i = j
            if let until = skipUntil {
                if until == "title", title == nil {
                    let t = run.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                    if !t.isEmpty { title = t }
                }
                continue
            }
            if capturing { captured += run }
            let words = run.split(whereSeparator: { $0.isWhitespace })
            if words.isEmpty {
                if !run.isEmpty { pendingSpace = true }
                continue
            }
            if pendingSpace || run.first?.isWhitespace == true, let last = out.last, !last.isWhitespace { out += " " }
            out += words.joined(separator: " ")
            pendingSpace = run.last?.isWhitespace == true
        }
        while out.last?.isWhitespace == true { out.removeLast() }
        return (out, title ?? h1)
    }

    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "mdash": "—", "ndash": "–",
        "hellip": "…", "copy": "©", "reg": "®", "laquo": "«", "raquo": "»", "rsquo": "’", "lsquo": "‘",
        "rdquo": "”", "ldquo": "“", "eacute": "é", "euro": "€",
    ]

    /// The entity starting at `s[i]` ("&…;") and the index after it, if it is one.
    static func entity(_ s: [Unicode.Scalar], _ i: Int) -> (String, Int)? {
        var j = i + 1
        var name = ""
        while j < s.count, j - i <= 10, s[j] != ";" {
            name.unicodeScalars.append(s[j])
            j += 1
        }
        guard j < s.count, s[j] == ";" else { return nil }
        if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) {
            return (String(u), j + 1)
        }
        if name.hasPrefix("#"), let v = UInt32(name.dropFirst()), let u = Unicode.Scalar(v) { return (String(u), j + 1) }
        if let v = named[name] { return (v, j + 1) }
        return nil
    }
}
