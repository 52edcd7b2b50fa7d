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

    /// A ring of `members` (weight 1 each; a name listed twice is one member), built in
    /// one pass: what a node does on every membership change.
    /// - Throws: `.invalidArgument` for an empty name or a bad `virtualNodes`.
    /// - Complexity: O(P log P) for P points.
    public init(members: some Sequence<String>, virtualNodes: Int = HashRing.defaultVirtualNodes) throws(CacheError) {
        try self.init(virtualNodes: virtualNodes)
        for m in members {
            guard !m.isEmpty else { throw CacheError(.invalidArgument, "node name must not be empty") }
            nodes[m] = 1
        }
        var p: [(hash: UInt64, node: String)] = []
        p.reserveCapacity(nodes.count * virtualNodes)
        for (node, weight) in nodes { appendPoints(of: node, weight: weight, to: &p) }
        p.sort(by: Self.precedes)
        points = p
    }

    public var isEmpty: Bool { nodes.isEmpty }

    /// Adds `node`, or changes its weight.
    /// - Throws: `.invalidArgument` for an empty name or a weight outside 1...1000.
    /// - Complexity: O(P + k log k) for P points on the ring and k new ones (the new
    ///   points are sorted and merged in; the ring is not sorted again).
    public mutating func add(_ node: String, weight: Int = 1) throws(CacheError) {
        guard !node.isEmpty else { throw CacheError(.invalidArgument, "node name must not be empty") }
        guard (1...Self.maxWeight).contains(weight) else {
            throw CacheError(.invalidArgument, "weight must be 1...\(Self.maxWeight); got \(weight)")
        }
        if nodes[node] == weight { return }
        if nodes[node] != nil { points.removeAll { $0.node == node } }
        nodes[node] = weight
        var fresh: [(hash: UInt64, node: String)] = []
        appendPoints(of: node, weight: weight, to: &fresh)
        fresh.sort(by: Self.precedes)
        var merged: [(hash: UInt64, node: String)] = []
        merged.reserveCapacity(points.count + fresh.count)
        var i = 0, j = 0
        while i < points.count && j < fresh.count {
            if Self.precedes(fresh[j], points[i]) { merged.append(fresh[j]); j += 1 } else { merged.append(points[i]); i += 1 }
        }
        merged.append(contentsOf: points[i...])
        merged.append(contentsOf: fresh[j...])
        points = merged
    }

    /// Removes `node`; whether it was there.
    /// - Complexity: O(P).
    @discardableResult
    public mutating func remove(_ node: String) -> Bool {
        guard nodes.removeValue(forKey: node) != nil else { return false }
        points.removeAll { $0.node == node }
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

    private func appendPoints(of node: String, weight: Int, to p: inout [(hash: UInt64, node: String)]) {
        for i in 0..<(virtualNodes * weight) {
            p.append((StableHash.hash64("\(node)#\(i)"), node))
        }
    }

    /// The ring's order: by hash, ties to the smaller node name.
    private static func precedes(_ a: (hash: UInt64, node: String), _ b: (hash: UInt64, node: String)) -> Bool {
        a.hash != b.hash ? a.hash < b.hash : a.node < b.node
    }

    public static func == (a: HashRing, b: HashRing) -> Bool {
        a.virtualNodes == b.virtualNodes && a.nodes == b.nodes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(virtualNodes)
        hasher.combine(nodes)
    }
}
