/// Text that users, documents and servers control, made harmless before it is printed for
/// a person: a control character becomes a visible escape (`\u{1B}`) instead of a command
/// to the terminal, so a file named with `ESC ] 0 ; … BEL` cannot set the window's title,
/// colours or cursor, and a bidirectional override cannot reorder what the reader sees.
///
/// Escaped: C0 controls (U+0000–U+001F), DEL, C1 controls (U+0080–U+009F), and the
/// bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
/// `--json` output is never passed through here: JSON escaping already carries the exact
/// text.
enum TerminalText {
    /// One value or one line (a path, an id, a title, an error): line breaks and tabs are
    /// escaped too, so a value cannot start a line of its own.
    static func line(_ text: String) -> String { escape(text, keepingLineBreaks: false) }

    /// A block of text (an answer, a chunk): line feeds and tabs are kept (the carriage
    /// return of a CRLF is dropped); other controls are escaped.
    static func block(_ text: String) -> String { escape(text, keepingLineBreaks: true) }

    /// Whether `scalar` is a control that must not reach the terminal as it is.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    private static func escape(_ text: String, keepingLineBreaks: Bool) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, scalar) in scalars.enumerated() {
            if keepingLineBreaks {
                if scalar == "\n" || scalar == "\t" {
                    out.append(scalar)
                    continue
                }
                // The CR of a CRLF: the LF does its work; a lone CR, which would let the
                // rest overwrite the line, is escaped below.
                if scalar == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { continue }
            }
            if isControl(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
