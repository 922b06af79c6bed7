import Foundation

/// A PostgreSQL connection URL (`postgres://` or `postgresql://`) as libpq reads it, and
/// the same URL without secrets, for messages.
///
/// ```swift
/// PostgresURL.isPostgres("postgres://me@db/rag")            // true
/// PostgresURL.redacted("postgres://me:secret@db/rag")      // "postgres://me@db/rag"
/// ```
public enum PostgresURL {
    /// Query parameters that carry secrets (libpq's `password`, `sslpassword`).
    static let secretParameters: Set<String> = ["password", "sslpassword"]

    /// Whether `store` names a PostgreSQL database rather than a directory.
    public static func isPostgres(_ store: String) -> Bool {
        let lower = store.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// The URL without its password (user info keeps the user name) and without
    /// secret-bearing query parameters; safe for output, errors and recorded metadata.
    public static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return "postgres://<unparsable URL>" }
        c.password = nil
        if let items = c.queryItems {
            let kept = items.filter { !secretParameters.contains($0.name.lowercased()) }
            c.queryItems = kept.isEmpty ? nil : kept
        }
        c.fragment = nil
        return c.string ?? "postgres://<unparsable URL>"
    }
}
