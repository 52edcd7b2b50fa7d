// bctrace: the trace simulator. Replays the cache-access traces of shared/traces
// through the real engine and prints hit ratios beside the published ones.
//
// One job per file: Options (command line), Catalog (the README's traces and
// figures), TraceReader (files and pipes into BlockCacheTrace's decoder), Replay
// (the engine), Report (the numbers), MarkdownTable and SVGPlot (the output);
// this file runs them.
import BlockCache
import BlockCacheTrace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

do {
    guard let options = try Options.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(Options.usage)
        exit(0)
    }
    exit(Simulator(options).run())
} catch {
    fail("\(error.message) (bctrace --help for usage)")
}

/// One run of the command.
struct Simulator {
    let options: Options
    let specs: [TraceSpec]
    let reader: TraceReader

    /// Largest difference from the README's LRU figures that still passes, in
    /// percentage points: they are rounded to 0.01, so a correct replay is within 0.005.
    static let lruTolerance = 0.01

    init(_ options: Options) {
        self.options = options
        specs = Self.resolve(options)
        reader = TraceReader(directory: options.tracesDirectory)
    }

    func run() -> Int32 {
        // The traces are not part of the repository: say where they were expected.
        let needsFolder = specs.contains { $0.fileName.map { !$0.contains("/") } ?? true }
        var info = stat()
        if needsFolder && (stat(options.tracesDirectory, &info) != 0 || info.st_mode & S_IFMT != S_IFDIR) {
            fail("""
            no trace folder at \(options.tracesDirectory)
            The traces live outside the repository, in its sibling folder shared/traces (with a
            README.md describing them); point to them with --traces DIR. Nothing was run.
            """)
        }
        return options.checkLRU ? checkLRU() : tables()
    }

    /// The traces to run, as catalog entries (a file outside the catalog gets one of its own).
    private static func resolve(_ options: Options) -> [TraceSpec] {
        guard !options.traces.isEmpty else { return Catalog.traces }
        return options.traces.map { name in
            if let spec = Catalog.spec(named: name) ?? Catalog.traces.first(where: { $0.fileName == name }) {
                return spec
            }
            guard let sizes = options.sizes else {
                fail("\(name) is not a trace of the README (\(Catalog.traces.map(\.name).joined(separator: ", "))); "
                    + "for another trace file give --sizes (and --format unless its name implies one)")
            }
            guard options.format ?? TraceFormat(fileName: name) != nil else {
                fail("the name \(name) implies no format; give --format")
            }
            return TraceSpec(name: name, fileName: name, parts: [], requests: nil, unique: nil,
                             sizes: sizes, published: [], format: options.format)
        }
    }

    // MARK: - --check-lru

    private func checkLRU() -> Int32 {
        var passed = 0, failed = 0
        let start = ContinuousClock.now
        print("Replaying LRU against the README's LRU figures (tolerance \(fixed(Self.lruTolerance)) pp); "
            + "allocator: \(Allocator.name)\n")
        for spec in specs {
            let sizes = spec.sizes.filter { spec.publishedLRU(at: $0) != nil && (options.sizes?.contains($0) ?? true) }
            guard !sizes.isEmpty else {
                print("skip  \(spec.name): no published LRU figure" + (options.sizes == nil ? "" : " at these sizes"))
                continue
            }
            let (keys, _) = load(spec)
            let hits = replay(keys, sizes.map { ReplayJob(policy: .lru, capacity: $0) })
            for (size, h) in zip(sizes, hits) {
                let ours = percent(h, of: keys.count)
                let published = spec.publishedLRU(at: size)!
                let diff = ours - published
                let ok = abs(diff) <= Self.lruTolerance + 1e-9
                if ok { passed += 1 } else { failed += 1 }
                print("\(ok ? "PASS" : "FAIL")  \(pad(spec.name, 19)) \(pad(sizeLabel(size), 5, right: true))"
                    + "  lru \(pad(fixed(ours, 3), 6, right: true))  README \(pad(fixed(published), 5, right: true))"
                    + "  diff \(signed(fixed(diff, 3))) pp")
            }
            fflush(nil)
        }
        guard passed + failed > 0 else {
            fail("no README LRU figure for these traces and sizes: nothing was checked")
        }
        print("\ncheck-lru: \(passed) of \(passed + failed) points within \(fixed(Self.lruTolerance)) pp"
            + (failed == 0 ? "" : ", \(failed) FAILED") + "; \(fixed(seconds(since: start))) s")
        return failed == 0 ? 0 : 1
    }

    // MARK: - Hit-ratio tables

    private func tables() -> Int32 {
        let start = ContinuousClock.now
        print("# BlockCache hit ratios\n")
        print("Policies \(options.policies.map(\.description).joined(separator: ", ")); one shard per store; "
            + "allocator \(Allocator.name); traces from \(options.tracesDirectory).\n")
        fflush(nil)
        for spec in specs {
            let report = measure(spec)
            print(MarkdownTable.render(report))
            fflush(nil)
            if let directory = options.svgDirectory {
                let name = spec.name.split(separator: "/").last.map(String.init) ?? spec.name
                do {
                    try writeFile(directory + "/" + name + ".svg", SVGPlot.render(report))
                } catch {
                    fail(error.message)
                }
            }
        }
        print("total \(fixed(seconds(since: start))) s")
        return 0
    }

    private func measure(_ spec: TraceSpec) -> TraceReport {
        let (keys, loadSeconds) = load(spec)
        let sizes = options.sizes ?? spec.sizes
        let jobs = options.policies.flatMap { p in sizes.map { ReplayJob(policy: p, capacity: $0) } }
        let replayStart = ContinuousClock.now
        let hits = replay(keys, jobs)
        let replaySeconds = seconds(since: replayStart)

        var series: [Series] = options.policies.enumerated().map { i, policy in
            Series(label: policy.description,
                   values: sizes.indices.map { percent(hits[i * sizes.count + $0], of: keys.count) },
                   published: false, approximate: false)
        }
        for p in spec.published {
            let values = sizes.map { size in spec.sizes.firstIndex(of: size).flatMap { p.values[$0] } }
            if values.contains(where: { $0 != nil }) {
                series.append(Series(label: p.label, values: values, published: true, approximate: p.approximate))
            }
        }
        let unique = Set(keys).count
        if let expected = spec.unique, unique != expected {
            printError("warning: \(spec.name) has \(grouped(unique)) unique keys, the README says \(grouped(expected))")
        }
        return TraceReport(name: spec.name, requests: keys.count, unique: unique, sizes: sizes, series: series,
                           loadSeconds: loadSeconds, replaySeconds: replaySeconds,
                           threads: max(1, min(options.threads, jobs.count)))
    }

    // MARK: - Helpers

    /// Loads a trace, checking its length against the README.
    private func load(_ spec: TraceSpec) -> (keys: [Int64], seconds: Double) {
        let start = ContinuousClock.now
        let keys: [Int64]
        do {
            keys = try reader.keys(of: spec)
        } catch {
            fail(error.message)
        }
        if let expected = spec.requests, keys.count != expected {
            fail("\(spec.name): read \(grouped(keys.count)) requests, the README says \(grouped(expected)): "
                + "a reader bug or a different file")
        }
        return (keys, seconds(since: start))
    }

    private func replay(_ keys: [Int64], _ jobs: [ReplayJob]) -> [Int] {
        do {
            return try Replay.run(keys, jobs, threads: options.threads)
        } catch {
            fail("the engine refused a replay: \(error)")
        }
    }
}

// MARK: - Small utilities

/// Prints `bctrace: message` on stderr.
func printError(_ message: String) {
    fflush(nil)
    let bytes = Array("bctrace: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    printError(message)
    exit(status)
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// The hit ratio in percent (0 for an empty trace).
func percent(_ hits: Int, of requests: Int) -> Double {
    requests == 0 ? 0 : Double(hits) * 100 / Double(requests)
}

/// A formatted number with its sign always shown: "+0.003", "-0.005", "+0.000".
func signed(_ s: String) -> String {
    s.hasPrefix("-") ? s : "+" + s
}

/// `s` padded with spaces to `width` characters.
func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return right ? fill + s : s + fill
}

/// Writes `text` to `path`, creating its folder (and parents) if needed.
func writeFile(_ path: String, _ text: String) throws(TraceError) {
    var folder = ""
    for c in path {
        if c == "/" && !folder.isEmpty && mkdir(folder, 0o755) != 0 && errno != EEXIST {
            throw TraceError("cannot create \(folder): \(errnoString())")
        }
        folder.append(c)
    }
    guard let file = fopen(path, "w") else { throw TraceError("cannot write \(path): \(errnoString())") }
    let utf8 = Array(text.utf8)
    let written = fwrite(utf8, 1, utf8.count, file)
    guard fclose(file) == 0, written == utf8.count else { throw TraceError("cannot write \(path): \(errnoString())") }
}
