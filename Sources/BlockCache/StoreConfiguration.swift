/// How long an entry lives.
public enum TTL: Sendable, Hashable {
    /// The store's default TTL (which may be "never").
    case `default`
    /// Never expires, whatever the store's default.
    case never
    /// Expires this many milliseconds after it is set; must be > 0.
    case milliseconds(Int64)
}

/// The settings of a ``Store``.
public struct StoreConfiguration: Sendable, Hashable {
    /// Eviction policy.
    public var policy: EvictionPolicy
    /// Byte budget (keys + values + per-entry overhead); 0 = no byte limit.
    public var maxBytes: UInt64
    /// Entry budget; 0 = no entry limit.
    public var maxEntries: UInt64
    /// Number of shards: a power of two up to ``maxShards``, or 0 for automatic.
    public var shards: Int
    /// TTL of entries set with ``TTL/default``; 0 = never expire.
    public var defaultTTLMilliseconds: Int64
    /// Period of the active expiry sweep; 0 = default (100 ms), negative = lazy expiry only.
    public var sweepIntervalMilliseconds: Int64

    public static let maxShards = 1024
    public static let defaultSweepIntervalMilliseconds: Int64 = 100

    public init(policy: EvictionPolicy = .default, maxBytes: UInt64 = 0, maxEntries: UInt64 = 0,
                shards: Int = 0, defaultTTLMilliseconds: Int64 = 0, sweepIntervalMilliseconds: Int64 = 0)
    {
        self.policy = policy
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
        self.shards = shards
        self.defaultTTLMilliseconds = defaultTTLMilliseconds
        self.sweepIntervalMilliseconds = sweepIntervalMilliseconds
    }
}

/// A snapshot of a store's counters.
public struct StoreStats: Sendable, Hashable {
    public var hits: UInt64 = 0
    public var misses: UInt64 = 0
    public var sets: UInt64 = 0
    public var deletes: UInt64 = 0
    public var evictions: UInt64 = 0
    public var expirations: UInt64 = 0
    /// Bytes charged now.
    public var bytes: UInt64 = 0
    /// Entries now, including expired ones not yet removed.
    public var entries: UInt64 = 0
    public var maxBytes: UInt64 = 0
    public var maxEntries: UInt64 = 0
    public var shards: Int = 0

    public init() {}
}

extension StoreConfiguration {
    /// At least this many entries per shard before the automatic shard count adds a
    /// shard: with fewer, uneven hashing across shards costs hit ratio (the relative
    /// spread of a shard's share is about 1/sqrt(n), ~3% at 1024).
    static let minEntriesPerAutoShard: UInt64 = 1024
    /// Likewise for byte budgets (1 MiB holds ~1024 entries of ~1 KiB).
    static let minBytesPerAutoShard: UInt64 = 1 << 20
    /// Shards per CPU for the automatic count: enough that two threads rarely meet
    /// on one lock.
    static let autoShardsPerCPU = 4
    static let maxAutoShards = 64

    /// The shard count this configuration resolves to on a machine with `cpus` CPUs.
    func resolvedShardCount(cpus: Int) throws(CacheError) -> Int {
        if shards != 0 {
            guard shards > 0, shards <= Self.maxShards, shards & (shards - 1) == 0 else {
                throw CacheError(.invalidArgument, "shards must be a power of two from 1 to \(Self.maxShards), or 0 for automatic; got \(shards)")
            }
            if maxEntries != 0 && maxEntries < UInt64(shards) {
                throw CacheError(.invalidArgument, "max_entries (\(maxEntries)) must be at least the shard count (\(shards))")
            }
            return shards
        }
        var n = floorPowerOfTwo(UInt64(max(1, cpus * Self.autoShardsPerCPU)))
        n = min(n, UInt64(Self.maxAutoShards))
        if maxEntries != 0 { n = min(n, floorPowerOfTwo(max(1, maxEntries / Self.minEntriesPerAutoShard))) }
        if maxBytes != 0 { n = min(n, floorPowerOfTwo(max(1, maxBytes / Self.minBytesPerAutoShard))) }
        return Int(n)
    }

    func validate() throws(CacheError) {
        guard defaultTTLMilliseconds >= 0 else {
            throw CacheError(.invalidArgument, "default TTL must be >= 0 ms (0 = never expire); got \(defaultTTLMilliseconds)")
        }
    }
}

@inline(__always)
func floorPowerOfTwo(_ x: UInt64) -> UInt64 {
    x == 0 ? 0 : 1 << (63 - UInt64(x.leadingZeroBitCount))
}

/// The least power of two at or above `x`, for `x` from 1 to 2^62 (table sizes).
@inline(__always)
func ceilPowerOfTwo(_ x: Int) -> Int {
    1 << (Int.bitWidth - (x - 1).leadingZeroBitCount)
}
