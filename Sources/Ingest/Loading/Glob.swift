/// Glob matching for relative paths: `*` and `?` within a path segment, `**` across them,
/// `**/` zero or more whole folders (`**/x.md` takes `x.md` and `a/b/x.md`, not
/// `ax.md`); every other character, `[` included, stands for itself. A pattern
/// without `/` matches what follows the path's last `/`.
///
/// Matching runs the pattern as a set of states over the path, one pass, so its time is
/// at most the pattern's length times the path's, whatever the stars: a backtracking
/// matcher takes exponential time on `*a*a*a*a*a*a*a*a*b` against a long run of `a`.
enum Glob {
    /// One step of a pattern.
    enum Token: Equatable {
        /// This scalar.
        case literal(Unicode.Scalar)
        /// `?`: one scalar other than `/`.
        case one
        /// `*`: any run of scalars other than `/`.
        case star
        /// `**`: any run of scalars.
        case globstar
        /// The start of `**/`: matches nothing itself, and is followed by `globstar` and
        /// the `/`, which may both be skipped.
        case folders
    }

    static func matches(_ pattern: String, _ path: String) -> Bool {
        var subject = Array(path.unicodeScalars)
        if !pattern.contains("/"), let slash = subject.lastIndex(of: "/") {
            // Not NSString.lastPathComponent: it traps on some paths ("///a//").
            subject.removeSubrange(...slash)
        }
        return match(tokens(pattern), subject)
    }

    static func tokens(_ pattern: String) -> [Token] {
        let p = Array(pattern.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        while i < p.count {
            switch p[i] {
            case "*" where i + 1 < p.count && p[i + 1] == "*":
                i += 2
                if i < p.count && p[i] == "/" {
                    tokens += [.folders, .globstar, .literal("/")]
                    i += 1
                } else {
                    tokens.append(.globstar)
                }
            case "*":
                tokens.append(.star)
                i += 1
            case "?":
                tokens.append(.one)
                i += 1
            default:
                tokens.append(.literal(p[i]))
                i += 1
            }
        }
        return tokens
    }

    /// Whether `tokens` match all of `s`: `active[t]` says that the first `t` tokens can
    /// match what was read so far.
    static func match(_ tokens: [Token], _ s: [Unicode.Scalar]) -> Bool {
        var active = [Bool](repeating: false, count: tokens.count + 1)
        var next = active
        active[0] = true
        skipStars(tokens, &active)
        for c in s {
            for t in next.indices { next[t] = false }
            var any = false
            for (t, token) in tokens.enumerated() where active[t] {
                switch token {
                case .literal(let x) where x == c: next[t + 1] = true
                case .one where c != "/": next[t + 1] = true
                case .star where c != "/", .globstar: next[t] = true
                default: continue
                }
                any = true
            }
            guard any else { return false }
            skipStars(tokens, &next)
            swap(&active, &next)
        }
        return active[tokens.count]
    }

    /// A star may match nothing: a state before one is also the state after it (and
    /// after the `/` of `**/`).
    private static func skipStars(_ tokens: [Token], _ active: inout [Bool]) {
        for (t, token) in tokens.enumerated() where active[t] {
            switch token {
            case .star, .globstar: active[t + 1] = true
            case .folders:
                active[t + 1] = true
                active[t + 3] = true
            case .literal, .one: break
            }
        }
    }
}
