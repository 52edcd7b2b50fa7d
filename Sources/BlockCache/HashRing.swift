/// Consistent hashing: nodes own the keys whose hash falls between their points on a
/// 64-bit ring, so adding or removing a node moves only the keys it gains or loses.
///
/// Each node gets `virtualNodes × weight` points at `StableHash("<name>#<i>")`;
/// a key belongs to the node of the first point at or after `StableHash(key)`,
/// wrapping around. Everything is a pure function of the node names, weights and the
/// virtual-node count, so every process computes the same owner for a key.
/// Ties (two points with one hash) go to the smaller node name.
///
/// A value type: build a new ring and swap it in; readers never see a half-built one.
public struct HashRing: Sendable, Hashable {
    public static let defaultVirtualNodes = 160
    public static let maxVirtualNodes = 65_536
    public static let maxWeight = 1_000

    public let virtualNodes: Int
    /// Node name → weight.
    public private(set) var nodes: [String: Int] = [:]
    /// Sorted by (hash, node name).
    private var points: [(hash: UInt64, node: String)] = []

    /// - Throws: `.invalidArgument` if `virtualNodes` is not in 1...65536.
    public init(virtualNodes: Int = HashRing.defaultVirtualNodes) throws(CacheError) {
        guard (1...Self.maxVirtualNodes).contains(virtualNodes) else {
            throw CacheError(.invalidArgument, "virtual nodes must be 1...\(Self.maxVirtualNodes); got \(virtualNodes)")
        }
        self.virtualNodes = virtualNodes
    }

    public var isEmpty: Bool { nodes.isEmpty }

    /// Adds `node`, or changes its weight.
    /// - Throws: `.invalidArgument` for an empty name or a weight outside 1...1000.
    /// - Complexity: O(P log P) for P points.
    public mutating func add(_ node: String, weight: Int = 1) throws(CacheError) {
        guard !node.isEmpty else { throw CacheError(.invalidArgument, "node name must not be empty") }
        guard (1...Self.maxWeight).contains(weight) else {
            throw CacheError(.invalidArgument, "weight must be 1...\(Self.maxWeight); got \(weight)")
        }
        nodes[node] = weight
        rebuild()
    }

    /// Removes `node`; whether it was there.
    @discardableResult
    public mutating func remove(_ node: String) -> Bool {
        guard nodes.removeValue(forKey: node) != nil else { return false }
        rebuild()
        return true
    }

    /// The node that owns `key`, nil on an empty ring.
    /// - Complexity: O(log P).
    public func node(for key: UnsafeRawBufferPointer) -> String? {
        guard !points.isEmpty else { return nil }
        let h = StableHash.hash64(key)
        var lo = 0, hi = points.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if points[mid].hash < h { lo = mid + 1 } else { hi = mid }
        }
        return points[lo == points.count ? 0 : lo].node
    }

    public func node(for key: [UInt8]) -> String? {
        key.withUnsafeBytes { node(for: $0) }
    }

    public func node(for key: String) -> String? {
        node(for: Array(key.utf8))
    }

    private mutating func rebuild() {
        var p: [(hash: UInt64, node: String)] = []
        p.reserveCapacity(nodes.values.reduce(0, +) * virtualNodes)
        for (node, weight) in nodes {
            for i in 0..<(virtualNodes * weight) {
                p.append((StableHash.hash64("\(node)#\(i)"), node))
            }
        }
        p.sort { $0.hash != $1.hash ? $0.hash < $1.hash : $0.node < $1.node }
        points = p
    }

    public static func == (a: HashRing, b: HashRing) -> Bool {
        a.virtualNodes == b.virtualNodes && a.nodes == b.nodes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(virtualNodes)
        hasher.combine(nodes)
    }
}
