import Foundation
import TestSupport
import Testing

@testable import Ingest

/// The OpenAI answer scanner against Foundation's parser: whenever it reads an answer it
/// reads the same vectors (bit for bit), and it reads none that `JSONSerialization`
/// refuses or that the general path would reject.
@Suite struct EmbeddingResponseScannerTests {
    static let identifier = EmbedderIdentifier(provider: "openai", model: "m", dimension: 0)

    /// What the general path makes of `body`: its vectors, or nil when it throws.
    static func general(_ body: [UInt8]) -> [[Float]]? {
        try? OpenAIEmbedder.vectors(parsing: body, from: identifier)
    }

    static func same(_ a: [[Float]], _ b: [[Float]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.map(\.bitPattern) == y.map(\.bitPattern) }
    }

    struct Generator {
        var rng: SeededGenerator

        mutating func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
        mutating func chance(_ percent: Int) -> Bool { pick(100) < percent }

        mutating func space() -> String { ["", "", " ", "\n", "\t ", "\r\n  "][pick(6)] }

        mutating func float() -> Float {
            switch pick(10) {
            case 0: return [Float.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude][pick(5)]
            default: return Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            }
        }

        /// Any JSON value (for the keys the scanner skips), nested up to `depth`.
        mutating func value(_ depth: Int) -> String {
            switch pick(depth > 0 ? 8 : 6) {
            case 0: return ["0", "-1", "3.25", "1e9", "-0.5E-3", "12345678901234567890"][pick(6)]
            case 1: return ["true", "false", "null"][pick(3)]
            case 2: return #""plain text""#
            case 3: return #""esc \" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00""#
            case 4: return #""été 灯台""#  // non-ASCII: the general path's
            case 5: return "\"\""
            case 6: return "[" + (0..<pick(3)).map { _ in space() + value(depth - 1) + space() }.joined(separator: ",") + "]"
            default:
                return "{"
                    + (0..<pick(3)).map { i in space() + "\"k\(i)\"" + space() + ":" + space() + value(depth - 1) }
                    .joined(separator: ",") + "}"
            }
        }

        /// An answer with `vectors`, items in some order, keys in some order, extra keys.
        mutating func answer(_ vectors: [[Float]]) -> String {
            var order = Array(vectors.indices)
            if chance(50) { order.shuffle(using: &rng) }
            let items = order.map { i -> String in
                var fields: [String] = []
                let encoded = vectors[i].withUnsafeBytes { Data($0).base64EncodedString() }
                fields.append("\"embedding\"" + space() + ":" + space() + "\"\(encoded)\"")
                switch pick(20) {
                case 0: break  // no index: its place in the list
                case 1: fields.append("\"index\":\(i).0")  // a float index: the general path's
                case 2: fields.append("\"index\":\"\(i)\"")
                default: fields.append("\"index\"" + space() + ":" + space() + "\(i)")
                }
                if chance(60) { fields.append("\"object\":\"embedding\"") }
                if chance(20) { fields.append("\"extra\":" + value(3)) }
                fields.shuffle(using: &rng)
                return "{" + fields.map { space() + $0 + space() }.joined(separator: ",") + "}"
            }
            var top = ["\"data\"" + space() + ":" + space() + "[" + items.map { space() + $0 }.joined(separator: ",") + space() + "]"]
            if chance(70) { top.append("\"object\":\"list\"") }
            if chance(70) { top.append("\"model\":" + (chance(10) ? "\"modèle\"" : "\"text-embedding-3-small\"")) }
            if chance(70) { top.append("\"usage\":{\"prompt_tokens\":\(pick(900)),\"total_tokens\":\(pick(900))}") }
            if chance(15) { top.append("\"x\":" + value(4)) }
            top.shuffle(using: &rng)
            return space() + "{" + top.map { space() + $0 + space() }.joined(separator: ",") + "}" + space()
        }
    }

    @Test func readsWhatFoundationReads() {
        var g = Generator(rng: SeededGenerator(seed: 11))
        var read = 0
        for round in 0..<3000 {
            let count = g.pick(6)
            let dimension = g.pick(9)
            let vectors = (0..<count).map { _ in (0..<dimension).map { _ in g.float() } }
            let body = Array(g.answer(vectors).utf8)
            let general = Self.general(body)
            guard let fast = EmbeddingResponseScanner.vectors(body) else { continue }
            read += 1
            #expect(general != nil, "round \(round): the scanner read what Foundation refuses: \(String(decoding: body, as: UTF8.self))")
            if let general { #expect(Self.same(fast, general), "round \(round)") }
            #expect(Self.same(fast, vectors), "round \(round): not the vectors sent")
        }
        // Most answers are plain ones: the shortcut is taken.
        #expect(read > 1500, "the scanner read \(read) of 3000")
    }

    /// Damaged answers (a byte changed, dropped or added; cut short): the scanner reads
    /// none that the general path would refuse, and what it reads agrees with it.
    @Test func damagedAnswersAreNeverReadWrongly() {
        var g = Generator(rng: SeededGenerator(seed: 12))
        let damage: [UInt8] = Array(#"{}[]:,"\\ 0123456789.eE-+=/AZaz\#u{7F}"#.utf8) + [0x00, 0x1F, 0xC3, 0xFF]
        var checked = 0
        for round in 0..<3000 {
            let vectors = (0..<(1 + g.pick(3))).map { _ in (0..<(1 + g.pick(4))).map { _ in g.float() } }
            var body = Array(g.answer(vectors).utf8)
            let at = g.pick(body.count)
            switch g.pick(4) {
            case 0: body[at] = damage[g.pick(damage.count)]
            case 1: body.remove(at: at)
            case 2: body.insert(damage[g.pick(damage.count)], at: at)
            default: body = Array(body.prefix(at))
            }
            guard let fast = EmbeddingResponseScanner.vectors(body) else { continue }
            checked += 1
            let general = Self.general(body)
            #expect(general != nil, "round \(round): read a body the general path refuses: \(String(decoding: body, as: UTF8.self))")
            if let general { #expect(Self.same(fast, general), "round \(round): \(String(decoding: body, as: UTF8.self))") }
        }
        #expect(checked > 0)
    }

    /// Hand-picked shapes: each is left to the general path (nil), whatever it makes of it.
    @Test func unusualShapesGoToTheGeneralPath() {
        let one = [Float(1.5), -2].withUnsafeBytes { Data($0).base64EncodedString() }
        let bodies = [
            #"{"data":[{"embedding":"\#(one)","index":0}],"data":[]}"#,  // repeated key
            #"{"data":[{"embedding":"\#(one)","index":0,"index":0}]}"#,
            #"{"dat\u0061":[{"embedding":"\#(one)"}]}"#,  // an escaped key
            #"{"data":[{"embedding":[1.5,-2],"index":0}]}"#,  // numbers, not base64
            #"{"data":[{"embedding":"\u0041\#(one.dropFirst())","index":0}]}"#,  // an escape in the base64 text
            #"{"data":[{"embedding":"\#(one)","index":1}]}"#,  // index out of range
            #"{"data":[{"embedding":"\#(one)","index":0},{"embedding":"\#(one)","index":0}]}"#,
            #"{"data":[{"embedding":"\#(one)","index":01}]}"#,
            #"{"data":[{"embedding":"\#(one)"}]} x"#,
            #"{"data":[{"embedding":"AAA="}]}"#,  // 2 bytes: not float32s
            #"{"data":[{"embedding":"AAB="}]}"#,  // non-zero padding bits
            #"[{"embedding":"\#(one)"}]"#,
            #"{"data":[{"embedding":"\#(one)"}],"model":"\#u{E9}"}"#,
            #"{"data":[{"embedding":"\#(one)"}],"x":"\#u{1}"}"#,
            #"{"data":[{"embedding":"\#(one)"}],"x":\#(String(repeating: "[", count: 80))\#(String(repeating: "]", count: 80))}"#,
            #"{"data":[{"embedding":"\#(one)"}],"x":"\uD800"}"#,
            "",
        ]
        for body in bodies { #expect(EmbeddingResponseScanner.vectors(Array(body.utf8)) == nil, "\(body)") }
        // And the plain one is read.
        let plain = #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"\#(one)"}],"model":"m"}"#
        #expect(EmbeddingResponseScanner.vectors(Array(plain.utf8)) == [[1.5, -2]])
    }
}
