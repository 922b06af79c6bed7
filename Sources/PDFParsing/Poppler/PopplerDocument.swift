import CPoppler
import Foundation

/// A PDF opened by poppler-glib: its metadata and the text of its pages, one page at a
/// time. The only file that imports `CPoppler`; it runs in the worker process.
///
/// Not Sendable: one thread uses it (the worker serves one request at a time).
final class PopplerDocument {
    /// Why a document did not open.
    enum OpenError: Error, Equatable {
        /// Encrypted, and neither the empty user password nor any given one opens it.
        case encrypted
        /// Not a PDF poppler can read (truncated, damaged, not a PDF at all).
        case damaged(String)
    }

    /// `PopplerDocument *`, released in `deinit`.
    private let document: OpaquePointer

    /// Opens `bytes`, trying the empty user password first, then each of `passwords`.
    ///
    /// - Throws: `OpenError`.
    init(bytes: ArraySlice<UInt8>, passwords: [String]) throws(OpenError) {
        guard let data = bytes.withUnsafeBytes({ g_bytes_new($0.baseAddress, gsize($0.count)) }) else {
            throw .damaged("out of memory")
        }
        defer { g_bytes_unref(data) }
        var lastError = OpenError.damaged("poppler could not open it")
        // nil first: poppler then tries the empty user password itself.
        for password in [nil] + passwords.map(Optional.some) {
            // Through a stream, not poppler_document_new_from_bytes: that one crashes
            // poppler 22.12 (a null dereference in PDFDoc's constructor) whenever a password
            // is given and is wrong. The stream holds a reference to the bytes.
            guard let stream = g_memory_input_stream_new_from_bytes(data) else { throw .damaged("out of memory") }
            defer { g_object_unref(UnsafeMutableRawPointer(stream)) }
            var error: UnsafeMutablePointer<GError>?
            if let document = poppler_document_new_from_stream(stream, goffset(bytes.count), password, nil, &error) {
                self.document = document
                return
            }
            guard let e = error else { continue }
            defer { g_error_free(e) }
            if e.pointee.domain == quiver_poppler_error_quark() && e.pointee.code == Int32(POPPLER_ERROR_ENCRYPTED.rawValue) {
                lastError = .encrypted
                continue
            }
            // Not a password problem: another password changes nothing.
            throw .damaged(e.pointee.message.map { String(cString: $0) } ?? "poppler could not open it")
        }
        throw lastError
    }

    deinit { g_object_unref(UnsafeMutableRawPointer(document)) }

    /// The number of pages.
    var pageCount: Int { Int(max(0, poppler_document_get_n_pages(document))) }

    /// The Info dictionary's (or XMP's) title, when it has a non-blank one.
    var title: String? { Self.take(poppler_document_get_title(document)) }

    /// The Info dictionary's (or XMP's) author, when it has a non-blank one.
    var author: String? { Self.take(poppler_document_get_author(document)) }

    /// `body` over the text of page `index` (from 0) in reading order, lines separated by
    /// `\n`, as poppler wrote it (UTF-8, not checked), without copying it into a String;
    /// the bytes are valid only inside `body`. No bytes for a page that does not load.
    func withText<R>(ofPage index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let page = poppler_document_get_page(document, Int32(index)) else {
            return body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        defer { g_object_unref(UnsafeMutableRawPointer(page)) }
        guard let text = poppler_page_get_text(page) else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        defer { g_free(text) }
        return body(UnsafeRawBufferPointer(start: text, count: strlen(text)))
    }

    /// A string poppler allocated, freed; nil when NULL or blank.
    private static func take(_ pointer: UnsafeMutablePointer<gchar>?) -> String? {
        guard let pointer else { return nil }
        defer { g_free(pointer) }
        let s = String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
        let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}
