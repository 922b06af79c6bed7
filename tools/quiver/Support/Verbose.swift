/// Whether `--verbose` was given anywhere on the command line.
let verbose = CommandLine.arguments.contains("--verbose") || CommandLine.arguments.contains("-v")
