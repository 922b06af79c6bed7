import Foundation

/// Executables built beside the test bundle (`swift build --build-tests` builds them).
public enum BuiltProducts {
    /// The path of a built executable, or nil with the places searched.
    public static func executable(_ name: String) -> String? {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = me.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
