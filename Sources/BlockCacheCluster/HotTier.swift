import BlockCache
import NIOCore
import Synchronization

/// Copies of values this node fetched from their owners, kept for keys requested
/// often enough here: a separate LRU store with a fraction of the group's budget,
/// behind an admission filter that counts requests per key.
///
/// Admission is by observed rate, not at random: each fetch from the owner counts
/// one request for its key in a small counting sketch, whose counters are halved
/// every `window` requests; a value is admitted when its key's count reaches the
/// threshold. One request for a key never displaces hot copies of others.
///
/// Invalidation wins over fetches in flight: ``invalidate(_:)`` bumps the key's
/// write generation (``WriteGenerations``), and ``keep(_:_:ttl:ifStill:)`` stores a
/// fetched value only if the generation it read before the fetch still holds. So a
/// fetch that was on its way when a write's `BC.DROP` arrived cannot install its older
/// value. Every copy is kept at most ``maxTTLMilliseconds`` (`--hot-max-age-ms`):
/// the bound on staleness for a node that missed an invalidation.
final class HotTier: Sendable {
    let store: Store
    private let order = WriteGenerations()
    private let admission: Mutex<RequestCounter>
    private let threshold: Int
    let maxTTLMilliseconds: Int64

    init(groupConfiguration g: StoreConfiguration, fraction: Double, defaultBytes: UInt64,
         threshold: Int, maxTTLMilliseconds: Int64) throws(CacheError) {
        var c = StoreConfiguration()
        c.policy = .lru
        func share(_ v: UInt64) -> UInt64 { v == 0 ? 0 : max(1, UInt64(Double(v) * fraction)) }
        c.maxBytes = share(g.maxBytes)
        c.maxEntries = share(g.maxEntries)
        if c.maxBytes == 0 && c.maxEntries == 0 { c.maxBytes = defaultBytes }
        // Few shards: a hot tier is small, and each shard gets an equal budget slice.
        c.shards = c.maxEntries != 0 ? Int(min(8, floorPow2(max(1, c.maxEntries / 64)))) : 8
        store = try Store(c)
        let expected = Int(min(1 << 20, max(1024, c.maxEntries != 0 ? c.maxEntries * 8 : c.maxBytes / 512)))
        admission = Mutex(RequestCounter(counters: expected))
        self.threshold = max(1, threshold)
        self.maxTTLMilliseconds = maxTTLMilliseconds
    }

    /// Counts a request for `key` (one that missed the hot tier) and says whether the
    /// value should be kept.
    func recordRequest(_ key: [UInt8]) -> Bool {
        let h = key.withUnsafeBytes { StableHash.hash64($0) }
        let count = admission.withLock { $0.increment(h) }
        return count >= threshold
    }

    /// The generation to pass to ``keep(_:_:ttl:ifStill:)``: read before the fetch starts.
    func generation(_ key: [UInt8]) -> UInt64 { order.current(key) }

    /// Drops every copy, and makes every fetch in flight skip its keep.
    func invalidateAll() {
        order.writeAll()
        store.removeAll()
    }

    /// Drops the copy of `key`, and makes every fetch of it in flight skip its keep.
    func invalidate(_ key: [UInt8]) {
        order.write(key) { _ = try? store.delete(key) }
    }

    /// Keeps a copy unless `key` was invalidated since `generation` was read; its
    /// lifetime in the hot tier capped at ``maxTTLMilliseconds``.
    /// The value's own expiry is stored with it (an 8-byte monotonic deadline in ms
    /// before the value, -1 for none), so a hit reports the key's real remaining
    /// lifetime, not the cap.
    func keep(_ key: [UInt8], _ value: [UInt8], ttl: TTL, ifStill generation: UInt64) {
        var ms = maxTTLMilliseconds
        var deadline: Int64 = -1
        if case .milliseconds(let m) = ttl {
            ms = min(ms, m)
            deadline = Self.nowMilliseconds() &+ m
        }
        var stored = [UInt8](repeating: 0, count: 8)
        stored.withUnsafeMutableBytes { $0.storeBytes(of: deadline.littleEndian, as: Int64.self) }
        stored += value
        _ = order.fill(key, ifStill: generation) { try? store.set(key, stored, ttl: .milliseconds(max(1, ms))) }
    }

    /// The hot copy of `key` with the value's remaining lifetime, or nil.
    func lookup(_ key: [UInt8]) throws(CacheError) -> LoadedValue? {
        try key.withUnsafeBytes { k in
            Result { () throws(CacheError) in
                try store.withValue(forKey: k) { raw -> LoadedValue? in
                    guard raw.count >= 8 else { return nil }
                    let deadline = Int64(littleEndian: raw.loadUnaligned(as: Int64.self))
                    let value = Array(raw[8...])
                    guard deadline >= 0 else { return LoadedValue(value, ttl: .never) }
                    let left = deadline - Self.nowMilliseconds()
                    return left > 0 ? LoadedValue(value, ttl: .milliseconds(left)) : nil
                } ?? nil
            }
        }.get()
    }

    static func nowMilliseconds() -> Int64 {
        Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }
}

/// Saturating 4-bit-style counters indexed by two hashes (count-min), halved every
/// `10 × counters` increments so that counts follow the recent request rate.
struct RequestCounter {
    private var counters: [UInt8]
    private let mask: Int
    private var increments = 0
    private let window: Int

    init(counters n: Int) {
        let size = Int(floorPow2(UInt64(max(64, n))))
        counters = Array(repeating: 0, count: size)
        mask = size - 1
        window = size * 10
    }

    /// Adds one to the key's count and returns the new estimate.
    mutating func increment(_ hash: UInt64) -> Int {
        let a = Int(truncatingIfNeeded: hash) & mask
        let b = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        if counters[a] < 15 { counters[a] += 1 }
        if counters[b] < 15 { counters[b] += 1 }
        increments += 1
        if increments >= window {
            increments = 0
            for i in counters.indices { counters[i] >>= 1 }
        }
        return Int(min(counters[a], counters[b]))
    }
}

func floorPow2(_ x: UInt64) -> UInt64 {
    x == 0 ? 0 : UInt64(1) << (63 - UInt64(x.leadingZeroBitCount))
}
