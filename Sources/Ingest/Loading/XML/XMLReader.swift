import CXML2

/// A pull reader of an XML document in memory (libxml2's text reader): element starts
/// with their attributes, element ends and text, in document order. Refuses any document
/// with a DTD, so neither external entities nor entity expansion ("billion laughs") can
/// happen; never touches the network or the file system. The only file that imports
/// `CXML2`.
///
/// Not Sendable: one thread reads it.
public final class XMLReader {
    /// One step through the document.
    public enum Event: Equatable {
        /// An element opens: its local name and attributes (`empty` when it is `<x/>`,
        /// which has no `.end`).
        case start(String, Attributes, empty: Bool)
        /// An element closes: its local name.
        case end(String)
        /// Text (or CDATA, or significant whitespace), entities resolved.
        case text(String)
    }

    /// An element's attributes: local name, namespace URI and value.
    public struct Attributes: Equatable {
        var items: [(local: String, namespace: String, value: String)] = []

        /// The value of the attribute named `local` (in namespace `namespace`, when given).
        public subscript(_ local: String, namespace namespace: String? = nil) -> String? {
            items.first { $0.local == local && (namespace == nil || $0.namespace == namespace) }?.value
        }

        /// The same attributes in the same order.
        public static func == (a: Attributes, b: Attributes) -> Bool {
            a.items.elementsEqual(b.items) { $0.local == $1.local && $0.namespace == $1.namespace && $0.value == $1.value }
        }
    }

    /// Why a document could not be read.
    public struct Failure: Error, Equatable, Sendable {
        /// What went wrong, with the line.
        public var message: String
    }

    private let reader: OpaquePointer
    /// Keeps the bytes alive for libxml2, which reads them in place.
    private let storage: UnsafeMutableRawBufferPointer

    /// libxml2's global state, initialized once before any thread parses; its messages
    /// silenced (a library does not print on its application's standard error).
    private static let initialized: Bool = {
        xmlInitParser()
        xmlThrDefSetStructuredErrorFunc(nil, quietStructured)  // threads started from now on
        xmlSetStructuredErrorFunc(nil, quietStructured)  // this one
        return true
    }()

    /// Whether a `<!DOCTYPE` comes before the root element (after the XML declaration,
    /// processing instructions, comments and whitespace).
    static func hasDocumentType(_ bytes: some Collection<UInt8>) -> Bool {
        let head = Array(bytes.prefix(64 << 10))
        var i = head.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func at(_ s: String) -> Bool { head[i...].starts(with: Array(s.utf8)) }
        func skip(past end: String) {
            let e = Array(end.utf8)
            while i < head.count && !head[i...].starts(with: e) { i += 1 }
            i += e.count
        }
        while i < head.count {
            if head[i] == 0x20 || head[i] == 0x0A || head[i] == 0x0D || head[i] == 0x09 {
                i += 1
            } else if at("<?") {
                skip(past: "?>")
            } else if at("<!--") {
                skip(past: "-->")
            } else {
                return at("<!DOCTYPE") || at("<!doctype")
            }
        }
        return false
    }

    /// A reader of `bytes`.
    ///
    /// - Throws: `Failure` when libxml2 cannot start on them.
    public init(bytes: some Collection<UInt8>) throws(Failure) {
        _ = Self.initialized
        // Refused before libxml2 sees it, with a clear message.
        if Self.hasDocumentType(bytes) {
            throw Failure(message: "a DTD (<!DOCTYPE>, refused: no office format needs one, and it could declare entities)")
        }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
            if let from = source.baseAddress, let to = storage.baseAddress { to.copyMemory(from: from, byteCount: source.count) }
        }
        if copied == nil { _ = storage.initializeMemory(as: UInt8.self, from: bytes) }
        self.storage = storage
        // No NOENT (entities stay references), no DTDLOAD, no network; errors are ours to
        // report, not printed.
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        guard
            let reader = xmlReaderForMemory(
                storage.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(clamping: bytes.count), nil, nil, options)
        else {
            storage.deallocate()
            throw Failure(message: "libxml2 could not start a reader")
        }
        self.reader = reader
        xmlTextReaderSetStructuredErrorHandler(reader, quietStructured, nil)
    }

    deinit {
        xmlFreeTextReader(reader)
        storage.deallocate()
    }

    /// The next event, or nil at the end of the document.
    ///
    /// - Throws: `Failure` for malformed XML or a DTD.
    public func next() throws(Failure) -> Event? {
        while true {
            let r = xmlTextReaderRead(reader)
            if r == 0 { return nil }
            guard r == 1 else { throw Failure(message: "malformed XML near line \(xmlTextReaderGetParserLineNumber(reader))") }
            switch xmlTextReaderNodeType(reader) {
            case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                let name = Self.string(xmlTextReaderConstLocalName(reader))
                let empty = xmlTextReaderIsEmptyElement(reader) == 1
                var attributes = Attributes()
                if xmlTextReaderHasAttributes(reader) == 1 {
                    while xmlTextReaderMoveToNextAttribute(reader) == 1 {
                        attributes.items.append(
                            (
                                Self.string(xmlTextReaderConstLocalName(reader)), Self.string(xmlTextReaderConstNamespaceUri(reader)),
                                Self.string(xmlTextReaderConstValue(reader))
                            ))
                    }
                    xmlTextReaderMoveToElement(reader)
                }
                return .start(name, attributes, empty: empty)
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                return .end(Self.string(xmlTextReaderConstLocalName(reader)))
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
                Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue):
                return .text(Self.string(xmlTextReaderConstValue(reader)))
            case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue), Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue):
                throw Failure(message: "a DTD or entity declaration (refused: no office format needs one)")
            default:
                continue
            }
        }
    }

    private static func string(_ p: UnsafePointer<xmlChar>?) -> String {
        guard let p else { return "" }
        return String(cString: p)
    }
}

/// libxml2's error callback that says nothing: errors are reported as `XMLReader.Failure`.
private let quietStructured: xmlStructuredErrorFunc = { _, _ in }
