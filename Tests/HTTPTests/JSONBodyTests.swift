import Foundation
import QuiverCore
import Testing

/// `JSONBody` writes what `JSONSerialization` reads back as the same tree, for every kind
/// of string (quotes, backslashes, each control character, multi-byte UTF-8) and value.
@Suite struct JSONBodyTests {
    /// The tree `JSONSerialization` parses from `bytes`, as a comparable string.
    func reparsed(_ bytes: [UInt8]) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        return String(
            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    func foundation(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    @Test func everyControlCharacterQuoteAndBackslashRoundTrips() throws {
        let every = String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) })
        let strings = [
            "", "plain", "a \"quoted\" word", #"back\slash \\ two"#, "line\nbreak\r\ttab\u{08}\u{0C}", every, "\u{0}nul",
            "Pokémon — 東京 🚀 \u{2028}", String(repeating: "x\"", count: 5000),
        ]
        for s in strings {
            let bytes = try JSONBody.encode(["input": [s]])
            let back = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
            #expect((back?["input"] as? [String]) == [s], "\(s.debugDescription.prefix(60))")
            #expect(!bytes.contains { $0 < 0x20 }, "raw control byte in \(s.debugDescription.prefix(60))")
        }
    }

    @Test func randomStringsRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0..<40, using: &rng)).compactMap { _ -> Unicode.Scalar? in
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: return Unicode.Scalar(UInt8.random(in: 0..<0x20, using: &rng))
                case 1: return Unicode.Scalar(UInt8.random(in: 0x20..<0x80, using: &rng))
                case 2: return Unicode.Scalar(UInt32.random(in: 0x80..<0xD800, using: &rng))
                default: return Unicode.Scalar(UInt32.random(in: 0x10000..<0x10FFFF, using: &rng))
                }
            }
            var s = ""
            s.unicodeScalars.append(contentsOf: scalars)
            let back = try JSONSerialization.jsonObject(with: Data(try JSONBody.encode([s]))) as? [String]
            #expect(back == [s], "\(s.debugDescription)")
        }
    }

    /// The same tree as `JSONSerialization` writes, for the values request bodies hold:
    /// nested objects and arrays, integers, fractions, booleans (kept apart from 0 and 1),
    /// null, `JSONValue`, and numbers parsed by Foundation (`NSNumber`).
    @Test func valuesAsFoundationWritesThem() throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(#"{"n": 3, "x": 0.25, "t": true, "big": 12345678901234}"#.utf8))
        let tree: [String: Any] = [
            "model": "m", "stream": true, "off": false, "max_tokens": 12, "temperature": 0.2, "tiny": 1e-05, "whole": 2.0,
            "negative": -7, "none": NSNull(), "messages": [["role": "user", "content": "Question: why?"]] as [[String: Any]],
            "tools": JSONValue.object(["type": "object", "required": .array(["city"]), "n": .int(3), "f": .double(0.5), "b": .bool(true)]),
            "parsed": parsed, "empty": [String: Any](), "list": [Any](), "floats": [Float(0.5), Float(1.25)],
        ]
        var reference = tree  // Foundation does not know JSONValue: the same schema as a dictionary
        reference["tools"] = ["type": "object", "required": ["city"], "n": 3, "f": 0.5, "b": true] as [String: Any]
        #expect(try reparsed(JSONBody.encode(tree)) == (try foundation(reference)))
        let back = try JSONSerialization.jsonObject(with: Data(try JSONBody.encode(tree))) as? [String: Any]
        #expect(back?["stream"] as? Bool == true && back?["max_tokens"] as? Int == 12 && back?["temperature"] as? Double == 0.2)
    }

    @Test func numbersJSONCannotHoldAreRefused() {
        for bad in [Double.nan, .infinity, -.infinity] {
            #expect(throws: QuiverError.self) { try JSONBody.encode(["x": bad]) }
        }
        #expect(throws: QuiverError.self) { try JSONBody.encode(["x": JSONValue.double(.nan)]) }
    }
}
