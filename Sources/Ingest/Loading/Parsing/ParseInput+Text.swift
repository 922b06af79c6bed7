extension ParseInput {
    /// The bytes as text: UTF-8 with or without a BOM, under the loader's `invalidUTF8`
    /// policy. Every text format's parser starts here, so all of them refuse binary files
    /// and treat bad UTF-8 alike.
    ///
    /// - Returns: The text, and a `.repairedUTF8` issue when invalid sequences were
    ///   replaced with U+FFFD.
    /// - Throws: A `LoadIssue` of kind `.binary` when the first 8 KiB hold a NUL byte (no
    ///   text format has one), or `.invalidUTF8` when the text is not valid UTF-8 and the
    ///   policy is `.reject`.
    public func decodeText() throws -> (text: String, issues: [LoadIssue]) {
        if bytes.prefix(8192).contains(0) {
            throw LoadIssue(path: id, kind: .binary, detail: "it has NUL bytes")
        }
        let decoded = TextDecoding.decode(bytes)
        guard decoded.repaired > 0 else { return (decoded.text, []) }
        if case .reject = options.invalidUTF8 {
            throw LoadIssue(path: id, kind: .invalidUTF8, detail: "invalid UTF-8 at byte \(decoded.firstBadOffset ?? 0)")
        }
        let detail = "\(decoded.repaired) invalid sequence(s) replaced, the first at byte \(decoded.firstBadOffset ?? 0)"
        return (decoded.text, [LoadIssue(path: id, kind: .repairedUTF8, detail: detail)])
    }
}
