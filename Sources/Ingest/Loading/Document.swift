import Foundation
import VectorStore

/// A loaded document: a stable id, its text, a content hash and metadata.
public struct Document: Sendable, Hashable {
    /// Stable id: the path relative to the ingested root, or the caller's id (JSON Lines
    /// and CSV rows add `#<n>`).
    public var id: String
    /// The text.
    public var text: String
    /// FNV-1a 64 of the text's UTF-8, hex: unchanged documents are skipped by it.
    public var contentHash: String
    /// `source`, `title` (first heading if any), `modified` (Unix seconds), plus the
    /// loader's and the caller's fields.
    public var metadata: [String: MetadataValue]

    /// Creates a document, computing its hash.
    public init(id: String, text: String, metadata: [String: MetadataValue] = [:]) {
        self.id = id
        self.text = text
        self.metadata = metadata
        contentHash = Document.hash(text)
    }

    /// FNV-1a 64 of the UTF-8 bytes, as 16 hex digits.
    public static func hash(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Something a load skipped or repaired, naming the file.
///
/// A `DocumentParser` throws one to stop reading a file (`.binary`, `.unreadable`…): the
/// loader reports it as it is.
public struct LoadIssue: Error, Sendable, Hashable, CustomStringConvertible {
    /// What happened.
    public enum Kind: String, Sendable {
        /// The file is binary (it has NUL bytes).
        case binary
        /// The file is larger than the limit.
        case tooLarge
        /// The file is empty (or has no text).
        case empty
        /// The file could not be read or parsed.
        case unreadable
        /// Invalid UTF-8 was replaced with U+FFFD.
        case repairedUTF8
        /// Invalid UTF-8 and the policy rejects it.
        case invalidUTF8
        /// A symbolic link that leads back into a directory being walked.
        case symlinkLoop
        /// No parser takes the file: none recognises its first bytes and none claims its
        /// extension. Reported, never an ingest failure.
        case unsupported
        /// Part of the file was malformed (a CSV quote that never closes) and was read
        /// another way; the rest is indexed. A note, not a failure.
        case malformed
        /// The file is encrypted and no password given opens it.
        case encrypted
        /// The file has pages but no text on any of them (a scanned image without OCR).
        case noText
        /// The parser took longer than its time limit for the file and was stopped.
        case timedOut
        /// The parser's worker process died (or misbehaved) while reading the file; the
        /// other files are read by a fresh one.
        case crashed
    }

    /// True when the file was meant to be indexed and could not be (unreadable, too
    /// large, binary, invalid text, encrypted, without text, timed out, crashed): a run with such a file did not do all it was asked.
    /// Unsupported, empty and repaired files and symlink loops are notes, not failures.
    public var isFailure: Bool {
        switch kind {
        case .tooLarge, .unreadable, .invalidUTF8, .binary, .encrypted, .noText, .timedOut, .crashed: return true
        case .empty, .repairedUTF8, .symlinkLoop, .unsupported, .malformed: return false
        }
    }

    /// The file (relative to the root where there is one).
    public var path: String
    /// What happened.
    public var kind: Kind
    /// Details: sizes, byte offsets, parser errors.
    public var detail: String

    /// An issue with `path`.
    public init(path: String, kind: Kind, detail: String = "") {
        self.path = path
        self.kind = kind
        self.detail = detail
    }

    /// `path: kind (detail)`.
    public var description: String { "\(path): \(kind.rawValue)" + (detail.isEmpty ? "" : " (\(detail))") }
}
