/// The file formats of the cache-access traces (shared/traces/README.md): each
/// file is a sequence of integer keys in request order.
public enum TraceFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Text, one decimal key per line; lines that are `*` and blank lines are
    /// skipped; LF or CRLF line ends.
    case lirs
    /// Text lines `start count x y`, each expanding to the `count` requests
    /// `start, start+1, ..., start+count-1` (the ARC paper's traces).
    case arc
    /// Binary, one big-endian signed 64-bit key per request.
    case i64be
    /// Binary, one big-endian signed 32-bit key per request.
    case i32be

    /// The format named `name` ("lirs", "arc", "i64be", "i32be"), case-insensitive.
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }

    /// The format a trace file's name implies, by the README's naming: a `.i64be`
    /// or `.i32be` extension (before any `.gz`/`.xz`), else an `arc-` or `lirs-`
    /// prefix; nil when the name says nothing.
    public init?(fileName: String) {
        let base = String(fileName.split(separator: "/").last ?? "").lowercased()
        let stem = Compression(fileName: base) == .none ? base : String(base.dropLast(3))
        if stem.hasSuffix(".i64be") {
            self = .i64be
        } else if stem.hasSuffix(".i32be") {
            self = .i32be
        } else if stem.hasPrefix("arc-") || stem.hasSuffix(".arc") {
            self = .arc
        } else if stem.hasPrefix("lirs-") || stem.hasSuffix(".lirs") {
            self = .lirs
        } else {
            return nil
        }
    }

    /// Bytes per key of a binary format; nil for the text formats.
    public var binaryWidth: Int? {
        switch self {
        case .i64be: 8
        case .i32be: 4
        case .lirs, .arc: nil
        }
    }

    public var description: String { rawValue }
}

/// How a trace file is compressed, by its extension.
public enum Compression: Sendable, Equatable {
    case none, gzip, xz

    public init(fileName: String) {
        if fileName.hasSuffix(".gz") {
            self = .gzip
        } else if fileName.hasSuffix(".xz") {
            self = .xz
        } else {
            self = .none
        }
    }

    /// The command that writes the decompressed stream of a file to stdout.
    public var decompressor: [String]? {
        switch self {
        case .none: nil
        case .gzip: ["gzip", "-dc"]
        case .xz: ["xz", "-dc"]
        }
    }
}

/// A trace that cannot be decoded: what is wrong and where.
public struct TraceError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
