// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Quiver",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VectorStore", targets: ["VectorStore"]),
        .library(name: "Ingest", targets: ["Ingest"]),
        .library(name: "Query", targets: ["Query"]),
        .library(name: "TextAnalysis", targets: ["TextAnalysis"]),
        // PDF support links poppler (GPL-2.0): a separate library, so an application can leave it out.
        .library(name: "PDFParsing", targets: ["PDFParsing"]),
        // The PostgreSQL + pgvector backend links libpq: a separate library, so an embedded app leaves it out.
        .library(name: "PostgresStore", targets: ["PostgresStore"]),
        .executable(name: "quiver", targets: ["quiver"]),
        .executable(name: "quiver-bench", targets: ["quiver-bench"]),
        .executable(name: "quiver-pdf-worker", targets: ["quiver-pdf-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // C libraries, each behind a system-library target holding only a module map and a shim.
        .systemLibrary(
            name: "CLMDB", pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]),
        // OpenBLAS is not linked: Quiver loads it at run time after choosing its kernel core
        // (VectorStore/BLAS/OpenBLASLibrary.swift), so this target holds signatures only.
        .systemLibrary(
            name: "COpenBLAS",
            providers: [.apt(["libopenblas0"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CEdit", pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]),
        // ZIP containers (DOCX, PPTX, XLSX, ODT, EPUB) and their XML.
        .systemLibrary(
            name: "CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),
        // poppler-glib (GPL-2.0): only PDFParsing depends on it.
        .systemLibrary(
            name: "CPoppler", pkgConfig: "poppler-glib",
            providers: [.apt(["libpoppler-glib-dev"])]),
        // libpq, PostgreSQL's client library: only PostgresStore depends on it.
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        // Snowball stemmers. Debian's libstemmer-dev ships no pkg-config file: the module map links it.
        .systemLibrary(
            name: "CStemmer",
            providers: [.apt(["libstemmer-dev"])]),

        // Quiver's own SIMD scoring kernels (AVX2+FMA with a runtime check).
        .target(name: "CQuiverKernels"),
        // The console's line reader: libedit's callback interface with a wait that Ctrl-C ends.
        .target(name: "CLineEdit", dependencies: ["CEdit"]),
        // The error model and the one bridge off the cooperative pool, shared by every module.
        .target(name: "QuiverCore"),
        // Keyword analysis (segmentation, folding, stopwords, Snowball stemming) and the keyword query parser.
        .target(name: "TextAnalysis", dependencies: ["QuiverCore", "CStemmer"]),
        .target(name: "VectorStore", dependencies: ["QuiverCore", "CLMDB", "COpenBLAS", "CQuiverKernels", "TextAnalysis"]),
        .target(name: "HTTP", dependencies: ["QuiverCore", "CCurl"]),
        // The collection protocol over PostgreSQL + pgvector (libpq).
        .target(name: "PostgresStore", dependencies: ["VectorStore", "CLibPQ"]),
        .target(name: "Ingest", dependencies: ["VectorStore", "TextAnalysis", "HTTP", "CQuiverKernels", "CArchive", "CXML2"]),
        .target(name: "Query", dependencies: ["VectorStore", "TextAnalysis", "Ingest", "HTTP"]),
        // PDF documents through poppler, read in worker processes (quiver-pdf-worker, or `quiver pdf-worker`).
        .target(name: "PDFParsing", dependencies: ["Ingest", "CPoppler"]),
        .executableTarget(name: "quiver-pdf-worker", dependencies: ["PDFParsing"], path: "tools/pdf-worker"),

        .executableTarget(
            name: "quiver",
            dependencies: [
                "VectorStore", "PostgresStore", "Ingest", "Query", "PDFParsing", "Synthetic", "CEdit", "CLineEdit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/quiver"),
        .executableTarget(
            name: "quiver-bench",
            dependencies: [
                "VectorStore", "PostgresStore", "Ingest", "Query", "PDFParsing", "CQuiverKernels", "CLMDB", "Synthetic",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/bench",
            exclude: ["bm25s_reference.py", "faiss_store.py", "graphbit_embed.py", "langchain_split.py"]),
        // (tools/testserver holds the loopback embedding server, a Python test fixture.)
        // libFuzzer targets (scripts/fuzz.sh builds them with -sanitize=fuzzer); a normal
        // build makes replay tools of them: one small file each, so that they add little.
        .target(name: "FuzzDriver", path: "tools/fuzz/Driver"),
        .executableTarget(name: "quiver-fuzz-documents", dependencies: ["Ingest", "FuzzDriver"], path: "tools/fuzz/Documents"),
        .executableTarget(name: "quiver-fuzz-store", dependencies: ["VectorStore", "FuzzDriver"], path: "tools/fuzz/Store"),

        // Seeded synthetic data shared by the demo, the benchmarks and the tests.
        .target(name: "Synthetic", path: "tools/Synthetic"),
        .target(name: "TestSupport", dependencies: ["VectorStore", "HTTP", "Ingest", "Synthetic"], path: "Tests/TestSupport"),
        .testTarget(
            name: "VectorStoreTests", dependencies: ["VectorStore", "TextAnalysis", "TestSupport", "CQuiverKernels", "quiver-fuzz-store"],
            exclude: ["Fixtures"]),
        .testTarget(name: "TextAnalysisTests", dependencies: ["TextAnalysis", "Synthetic"], exclude: ["Fixtures"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),
        // Against a real PostgreSQL + pgvector server that the tests start (TestSupport's PostgresTestServer).
        .testTarget(name: "PostgresStoreTests", dependencies: ["PostgresStore", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "TestSupport", "Synthetic"], exclude: ["Fixtures"]),
        .testTarget(name: "QueryTests", dependencies: ["Query", "PDFParsing", "PostgresStore", "TestSupport"]),
        .testTarget(
            name: "PDFParsingTests", dependencies: ["PDFParsing", "TestSupport", "quiver-pdf-worker"], exclude: ["Fixtures"]),
        // The built `quiver` end to end, run as a subprocess (`swift build --build-tests` builds it).
        .testTarget(name: "CommandLineTests", dependencies: ["Query", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
