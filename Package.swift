// swift-tools-version: 6.0
//
// BlockCache: a read-through cache engine with a C ABI.
//
// Targets, one job each:
//   CBlockCacheAlloc  C    the allocator seam: a private static jemalloc when linked in, else malloc
//   BlockCache        Swift the engine (store, policies, TTL, ring, singleflight, group); no I/O
//   CBlockCacheABI    C    include/blockcache.h for Swift, plus the per-thread error message buffer
//   BlockCacheC       Swift the @_cdecl exports: converts between C and the engine, decides nothing
//   BlockCacheTrace   Swift the cache-trace file formats (decoding only; no I/O, no engine)
//   bctrace           Swift the trace simulator: replays shared/traces through the engine
//   BlockCacheRESP    Swift the Redis protocol (RESP2/RESP3): frame decoders with limits, reply encoding
//   BlockCacheCluster Swift a node: RESP server (TLS optional), peer pool, ring membership (static, etcd), hot tier
//   blockcached       Swift the node executable
//
// Products: `BlockCache` (a Swift library, for Swift packages) and `blockcache`
// (libblockcache.so, for C, Python and any language with a C FFI).
//
// The private jemalloc (scripts/build-jemalloc.sh -> .deps/jemalloc; `make` builds it
// first) is linked into the .so and the tests. A Swift package that depends on the
// `BlockCache` engine alone never sees these flags and runs on the system malloc,
// which the engine reports at run time (Allocator.name).
import PackageDescription

let root = Context.packageDirectory
let jemallocArchive = root + "/.deps/jemalloc/lib/libjemalloc_pic.a"

// --whole-archive: the allocator seam refers to jemalloc through weak symbols,
// which never pull members out of a static archive by themselves.
let jemallocLink: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--whole-archive", "-Xlinker", jemallocArchive,
                  "-Xlinker", "--no-whole-archive"]),
]

let cExportLink: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "--version-script=\(root)/Sources/BlockCacheC/exports.map",
        "-Xlinker", "-soname=libblockcache.so.1",
        "-Xlinker", "-z", "-Xlinker", "nodelete",
        // lld, not the default gold: gold leaves GOT relocations against symbols the
        // version script made local, which puts them back in the dynamic symbol table.
        "-use-ld=lld",
    ]),
] + jemallocLink

let package = Package(
    name: "BlockCache",
    products: [
        .library(name: "BlockCache", targets: ["BlockCache"]),
        .library(name: "blockcache", type: .dynamic, targets: ["BlockCacheC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(name: "CBlockCacheAlloc"),
        .target(name: "BlockCache", dependencies: ["CBlockCacheAlloc"]),
        .target(name: "CBlockCacheABI"),
        .target(
            name: "BlockCacheC",
            dependencies: ["BlockCache", "CBlockCacheABI", "BlockCacheCluster",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            exclude: ["exports.map"],
            linkerSettings: cExportLink
        ),
        .target(name: "BlockCacheTrace"),
        .target(
            name: "BlockCacheRESP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "BlockCacheCluster",
            dependencies: [
                "BlockCache", "BlockCacheRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "blockcached",
            dependencies: ["BlockCache", "BlockCacheCluster"],
            linkerSettings: jemallocLink
        ),
        .executableTarget(
            name: "bctrace",
            dependencies: ["BlockCache", "BlockCacheTrace"],
            linkerSettings: jemallocLink
        ),
        .testTarget(
            name: "BlockCacheTests",
            dependencies: ["BlockCache", "BlockCacheTrace", "BlockCacheRESP", "BlockCacheCluster",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio")],
            linkerSettings: jemallocLink
        ),
    ]
)

for target in package.targets where target.type != .system {
    guard !target.name.hasPrefix("C") else { continue }
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    // The NIO-based targets are in the Swift 5 language mode: their channel handlers
    // are confined to their event loops by NIO, which Swift 6's checker cannot see.
    if ["BlockCacheRESP", "BlockCacheCluster", "blockcached"].contains(target.name) {
        settings.append(.swiftLanguageMode(.v5))
    }
    target.swiftSettings = settings
}
