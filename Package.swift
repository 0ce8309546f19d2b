// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tailor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tailor", targets: ["tailor"]),
        .library(name: "TailorKit", targets: ["TailorKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(
            name: "CKernels",
            path: "Sources/CKernels",
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]
        ),
        .target(
            name: "TailorKit",
            dependencies: ["CBLAS", "CKernels"],
            path: "Sources/TailorKit",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "TailorRuns",
            dependencies: [
                "TailorKit",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/TailorRuns"
        ),
        .executableTarget(
            name: "tailor",
            dependencies: [
                "TailorKit", "TailorRuns",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/tailor"
        ),
        .testTarget(
            name: "TailorKitTests",
            dependencies: ["TailorKit", "CKernels"],
            path: "Tests/TailorKitTests",
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TailorRunsTests",
            dependencies: ["TailorRuns", "TailorKit", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/TailorRunsTests"
        ),
        .testTarget(
            name: "tailorCLITests",
            dependencies: ["TailorKit"],
            path: "Tests/tailorCLITests"
        ),
    ],
    // Swift 5 mode: the numeric core shares raw buffers across concurrentPerform by design.
    swiftLanguageModes: [.v5]
)
