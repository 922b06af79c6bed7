import ArgumentParser
import Foundation
import Query

/// How the keyword index splits text: `index` (for a new collection) and `reindex --keyword`.
struct AnalyzerOptions: ParsableArguments {
    @Option(help: "Language of the keyword index's stemming and stopwords (a Snowball language, or none; default english).")
    var language: String?
    @Flag(help: "Index words as written, without stemming.") var noStemming = false
    @Flag(help: "Keep stopwords (the, of, …) in the keyword index.") var noStopwords = false
    @Flag(help: "Fold diacritics: café matches cafe.") var foldDiacritics = false

    /// Whether any flag was given (else an existing collection keeps its analyzer).
    var given: Bool { language != nil || noStemming || noStopwords || foldDiacritics }

    /// The analyzer the flags describe.
    func settings() throws -> AnalyzerSettings {
        let language = (self.language ?? "english").lowercased()
        let settings = AnalyzerSettings(
            language: language, stemming: !noStemming && language != "none", stopwords: !noStopwords && language != "none",
            foldDiacritics: foldDiacritics)
        do {
            _ = try TextAnalyzer(settings)
        } catch {
            throw CLIError(
                "unknown --language \(language)",
                hint: "one of: none, " + AnalyzerSettings.languages.joined(separator: ", "))
        }
        return settings
    }
}

/// A keyword index being built: a line on stderr with the rows done, the rate and the ETA.
final class KeywordIndexProgress: Sendable {
    private let started = Date()
    private let label: String
    private let terminal = isatty(2) != 0

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        let seconds = Date().timeIntervalSince(started)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 && done < total ? " · ETA " + ProgressBar.duration(Double(total - done) / rate) : ""
        let line = "\(label): \(done)/\(total) chunks · " + String(format: "%.0f chunks/s", rate) + eta
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\(done >= total ? "\n" : "")".utf8))
        } else if done >= total || done % (4096 * 8) == 0 {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }
}
