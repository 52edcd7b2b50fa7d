import BlockCache
import BlockCacheTrace

/// The command line of `bctrace`.
struct Options {
    var tracesDirectory = Options.defaultTracesDirectory
    /// Catalog names, catalog file names, or other trace files; empty = the whole catalog.
    var traces: [String] = []
    var policies: [EvictionPolicy] = EvictionPolicy.allCases
    /// nil = each trace's README sizes.
    var sizes: [Int]?
    /// For trace files outside the catalog; nil = inferred from the file name.
    var format: TraceFormat?
    var svgDirectory: String?
    var checkLRU = false
    var threads = 2

    /// `<package root>/../shared/traces`: the repository's sibling folder. Found from
    /// this source file's path, so it does not depend on the working directory.
    static var defaultTracesDirectory: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)  // Options.swift, bctrace, Sources, the package folder
        return parts.joined(separator: "/") + "/shared/traces"
    }

    static let usage = """
    usage: bctrace [options]

    Replays cache-access traces through the BlockCache engine (one single-shard store
    per policy and capacity; every request a get, every miss a set) and prints hit
    ratios beside the figures published in the traces' README.

      --traces DIR        the trace folder (default: \(defaultTracesDirectory))
      --trace NAME        a trace of the README, or a trace file (then give --sizes, and
                          --format unless the name implies it); repeatable, comma lists
                          allowed. Default: all of the README's, in this order:
                          \(Catalog.traces.map(\.name).joined(separator: ", "))
      --policies A,B      eviction policies (default: all, \(EvictionPolicy.allCases.map(\.description).joined(separator: ",")))
      --sizes A,B         capacities in entries, "k" and "M" suffixes allowed
                          (default: the sizes the README lists for each trace)
      --format F          format of trace files outside the README: \(TraceFormat.allCases.map(\.description).joined(separator: ", "))
                          (default: inferred from the file name)
      --svg DIR           also write DIR/<trace>.svg, hit ratio against capacity
      --threads N         simulations run at once (default: 2)
      --check-lru         replay LRU only and compare with the README's LRU figures;
                          exit 1 if any differs by more than 0.01 pp
      -h, --help          this text

    Exit status: 0 done; 1 --check-lru found a difference; 2 bad usage, unreadable
    traces, or nothing for --check-lru to check.
    """

    struct UsageError: Error {
        let message: String
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> Options? {
        var options = Options()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                inlineValue = String(argument[argument.index(after: eq)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard let v = rest.popFirst() else { throw UsageError(message: "\(name) needs a value") }
                return v
            }
            switch name {
            case "-h", "--help":
                return nil
            case "--traces":
                options.tracesDirectory = try value()
            case "--trace":
                options.traces += list(try value())
            case "--policies", "--policy":
                options.policies = try list(try value()).map { (p) throws(UsageError) in
                    guard let policy = EvictionPolicy(name: p) else {
                        throw UsageError(message: "unknown policy \"\(p)\"; the engine has: "
                            + EvictionPolicy.allCases.map(\.description).joined(separator: ", "))
                    }
                    return policy
                }
                guard !options.policies.isEmpty else { throw UsageError(message: "--policies is empty") }
            case "--sizes":
                let sizes = try list(try value()).map { (s) throws(UsageError) in
                    guard let n = capacity(s), n > 0 else { throw UsageError(message: "bad size \"\(s)\"") }
                    return n
                }
                guard !sizes.isEmpty else { throw UsageError(message: "--sizes is empty") }
                options.sizes = Array(Set(sizes)).sorted()
            case "--format":
                let f = try value()
                guard let format = TraceFormat(name: f) else {
                    throw UsageError(message: "unknown format \"\(f)\"; known: "
                        + TraceFormat.allCases.map(\.description).joined(separator: ", "))
                }
                options.format = format
            case "--svg":
                options.svgDirectory = try value()
            case "--threads":
                let t = try value()
                guard let n = Int(t), n > 0 else { throw UsageError(message: "bad thread count \"\(t)\"") }
                options.threads = n
            case "--check-lru":
                options.checkLRU = true
            default:
                throw UsageError(message: "unknown option \(argument)")
            }
        }
        return options
    }

    private static func list(_ s: String) -> [String] {
        s.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
    }

    /// "250", "25k", "1M", "100_000".
    private static func capacity(_ s: String) -> Int? {
        var digits = s.filter { $0 != "_" }
        var scale = 1
        switch digits.last {
        case "k", "K": scale = 1000
        case "m", "M": scale = 1_000_000
        default: break
        }
        if scale != 1 { digits.removeLast() }
        guard let n = Int(digits) else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }
}
