import BlockCacheTrace

// The traces of shared/traces/README.md and the hit ratios published for them,
// copied by hand from that README. Keep the two in step: `--check-lru` fails if
// the LRU rows here drift from what the engine measures.

/// One row of published (or computed reference) hit ratios for a trace.
struct PublishedSeries: Sendable {
    /// As the README labels the row.
    let label: String
    /// Hit ratio in % at each of the trace's `sizes`; nil where none was published.
    let values: [Double?]
    /// Read off a chart (about ±1 pp), shown with "≈".
    let approximate: Bool

    init(_ label: String, _ values: [Double?], approximate: Bool = false) {
        self.label = label
        self.values = values
        self.approximate = approximate
    }
}

/// A trace the README describes.
struct TraceSpec: Sendable {
    let name: String
    /// The file in the traces folder (or, with a "/", a path of its own); nil for a
    /// trace made of other traces.
    let fileName: String?
    /// For a synthetic trace: the traces it concatenates, in order.
    let parts: [String]
    /// The README's request and unique-key counts, to check the reader against.
    let requests: Int?
    let unique: Int?
    /// Capacities (entries) the README reports, the default `--sizes`.
    let sizes: [Int]
    let published: [PublishedSeries]
    /// The file's format when its name does not imply it (`--format`).
    var format: TraceFormat? = nil

    /// The published LRU hit ratio at `size`, if the README has one.
    func publishedLRU(at size: Int) -> Double? {
        guard let i = sizes.firstIndex(of: size), let lru = published.first(where: { $0.label == Catalog.lruLabel }) else {
            return nil
        }
        return lru.values[i]
    }
}

enum Catalog {
    static let lruLabel = "LRU"

    /// Every trace of the README's table, then "mixed".
    static let traces: [TraceSpec] = [
        TraceSpec(
            name: "arc-oltp", fileName: "arc-oltp.gz", parts: [], requests: 914_145, unique: 186_880,
            sizes: [250, 500, 1000, 2000, 5000, 10000],
            published: [
                PublishedSeries(lruLabel, [16.47, 23.45, 32.83, 42.47, 53.65, 60.70]),
                PublishedSeries("ARC", [21.23, 30.46, 38.95, 46.08, 55.25, 61.87]),
                PublishedSeries("W-TinyLFU (BitFaster)", [24.88, 33.73, 40.01, 46.09, nil, nil]),
                PublishedSeries("S3-FIFO (Otter v1 chart)", [25.5, 33.0, 41.0, 48.7, nil, nil], approximate: true),
                PublishedSeries("OPT", [38.43, 46.42, 53.61, 60.40, 68.27, 73.02]),
            ]),
        TraceSpec(
            name: "arc-p3", fileName: "arc-p3.gz", parts: [], requests: 3_912_296, unique: 762_543,
            sizes: [25000, 50000, 100_000, 200_000, 400_000],
            published: [
                PublishedSeries(lruLabel, [2.60, 6.86, 29.34, 59.35, 75.30]),
                PublishedSeries("ARC", [12.76, 22.22, 41.15, 59.81, 77.19]),
                PublishedSeries("W-TinyLFU (Theine chart)", [11, 19.5, 37, 54.5, 76.5], approximate: true),
                PublishedSeries("S3-FIFO (Otter v1 chart)", [3, 12.5, 55, 69.5, 79.5], approximate: true),
                PublishedSeries("OPT", [26.04, 43.15, 62.00, 74.08, 80.51]),
            ]),
        TraceSpec(
            name: "lirs-gli", fileName: "lirs-gli.gz", parts: [], requests: 6015, unique: 2529,
            sizes: [250, 500, 1000, 1500, 2000],
            published: [
                PublishedSeries(lruLabel, [0.91, 0.95, 11.21, 36.56, 57.41]),
                PublishedSeries("ARC", [1.38, 1.38, 21.31, 50.44, 57.41]),
                PublishedSeries("W-TinyLFU (Otter v2 chart)", [15, 32.7, 50.2, 53, 57.5], approximate: true),
                PublishedSeries("OPT", [17.64, 34.26, 53.13, 57.96, 57.96]),
            ]),
        TraceSpec(
            name: "lirs-loop", fileName: "lirs-loop.gz", parts: [], requests: 505_500, unique: 1011,
            sizes: [250, 500, 750, 1000],
            published: [
                PublishedSeries(lruLabel, [0, 0, 0, 0]),
                PublishedSeries("ARC", [0, 0, 0, 0]),
                PublishedSeries("W-TinyLFU (chart)", [20, 45, 73, 99], approximate: true),
                PublishedSeries("OPT", [24.63, 49.36, 74.04, 98.71]),
            ]),
        TraceSpec(
            name: "scarab-recs", fileName: "scarab-recs.i64be.xz", parts: [], requests: 1_245_184, unique: 258_368,
            sizes: [1000, 10000, 50000, 100_000],
            published: [
                PublishedSeries(lruLabel, [26.96, 48.65, 69.15, 75.91]),
                PublishedSeries("ARC", [33.11, 52.33, 69.75, 76.08]),
                PublishedSeries("W-TinyLFU (Otter v2 chart)", [34.3, 52.3, 64.8, 71.7], approximate: true),
                PublishedSeries("W-TinyLFU (Caffeine adaptive)", [nil, nil, nil, 72.08]),
                PublishedSeries("OPT", [44.91, 66.57, 78.63, 79.25]),
            ]),
        // The README publishes nothing for corda alone (it is a part of "mixed"); these
        // sizes are ours: from mixed's small ones up to a third of its 90,468 keys.
        TraceSpec(
            name: "corda-vaultservice", fileName: "corda-vaultservice.i64be.gz", parts: [],
            requests: 135_702, unique: 90468,
            sizes: [250, 500, 1000, 2000, 5000, 10000, 30000],
            published: []),
        TraceSpec(
            name: "cache2k-web07", fileName: "cache2k-web07.i32be.xz", parts: [], requests: 76118, unique: 20484,
            sizes: [500, 1000, 2000, 4000, 8000],
            published: [
                PublishedSeries(lruLabel, [45.58, 50.41, 55.50, 60.82, 66.92]),
                PublishedSeries("ARC", [48.25, 53.04, 57.86, 62.64, 67.98]),
                PublishedSeries("OPT", [59.16, 63.58, 67.97, 71.59, 73.09]),
            ]),
        TraceSpec(
            name: "mixed", fileName: nil, parts: ["corda-vaultservice", "lirs-loop", "corda-vaultservice"],
            requests: 776_904, unique: nil,  // the README gives no unique count for it
            sizes: [250, 500, 750, 1000, 2000],
            published: [
                PublishedSeries(lruLabel, [11.64, 11.64, 11.64, 11.64, 76.58]),
                PublishedSeries("W-TinyLFU adaptive (Otter v2 chart)", [25.6, 41.0, 55.6, 72.5, 74.5], approximate: true),
                PublishedSeries("OPT", [27.67, 43.76, 59.82, 75.87, 76.71]),
            ]),
    ]

    static func spec(named name: String) -> TraceSpec? {
        traces.first { $0.name == name }
    }
}
