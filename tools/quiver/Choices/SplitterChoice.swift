import ArgumentParser

/// The text splitters `--splitter` names.
enum SplitterChoice: String, CaseIterable, ExpressibleByArgument {
    /// At the largest unit that fits: paragraphs, then lines, sentences, words.
    case recursive
    /// By Markdown structure: sections under headings, then blocks.
    case markdown
    /// Whole sentences, packed into chunks.
    case sentence
    /// Chunks of a number of tokens (the local model's own tokens when it embeds).
    case token
    /// At one separator, then at grapheme clusters.
    case character
}
