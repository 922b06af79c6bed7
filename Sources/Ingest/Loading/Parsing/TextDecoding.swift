/// UTF-8 decoding with or without BOM; invalid sequences are repaired with U+FFFD (and
/// counted) or rejected.
enum TextDecoding {
    /// The text, and how many invalid sequences were replaced (0 when valid).
    static func decode(_ bytes: [UInt8]) -> (text: String, repaired: Int, firstBadOffset: Int?) {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        // Valid UTF-8 (the usual case) in one validating pass.
        if let text = String(validating: body, as: UTF8.self) { return (text, 0, nil) }
        var repaired = 0
        var firstBad: Int?
        var scalars = String.UnicodeScalarView()
        var it = body.makeIterator()
        var decoder = UTF8()
        var consumed = body.startIndex
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s):
                scalars.append(s)
                consumed += UTF8.width(s)
            case .error:
                if firstBad == nil { firstBad = consumed }
                repaired += 1
                scalars.append("\u{FFFD}")
                consumed += 1
            case .emptyInput:
                break loop
            }
        }
        return (String(scalars), repaired, firstBad)
    }
}
