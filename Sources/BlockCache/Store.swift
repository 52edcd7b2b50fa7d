import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A sharded, budgeted, in-memory key-value cache of byte strings.
///
/// Keys are hashed (``StableHash``) to one of a power-of-two number of shards; each
/// shard has its own lock, index, policy lists, counters and an equal share of the
/// budget, so operations on different shards never contend. Entries live in single
/// allocations from ``Allocator``. Expired entries leave lazily, when looked up, and
/// actively, through a background sweeper started by the first entry with a TTL.
///
/// Thread safety: every method may be called from any thread concurrently.
public final class Store: Sendable {
    /// Longest key, in bytes.
    public static let maxKeyLength = Entry.maxKeyLength
    /// Longest value, in bytes.
    public static let maxValueLength = Entry.maxValueLength

    public let configuration: StoreConfiguration
    /// The number of shards in use.
    public let shardCount: Int
    let shards: ShardArray
    let sweeper: Sweeper?
    private let sweeperStarted = Atomic<Bool>(false)

    /// Creates a store.
    /// - Throws: ``CacheError/Code/invalidArgument`` for a bad shard count, entry budget
    ///   smaller than the shard count, or negative default TTL.
    public init(_ configuration: StoreConfiguration = StoreConfiguration()) throws(CacheError) {
        try configuration.validate()
        let n = try configuration.resolvedShardCount(cpus: Self.cpuCount)
        self.configuration = configuration
        shardCount = n
        func split(_ total: UInt64, _ i: Int) -> Int {
            guard total != 0 else { return .max }
            let share = total / UInt64(n) + (UInt64(i) < total % UInt64(n) ? 1 : 0)
            return share > UInt64(Int.max) ? .max : Int(share)
        }
        let budgets = (0..<n).map { (entries: split(configuration.maxEntries, $0), bytes: split(configuration.maxBytes, $0)) }
        shards = ShardArray(policy: configuration.policy, budgets: budgets)
        if configuration.sweepIntervalMilliseconds >= 0 {
            let interval = configuration.sweepIntervalMilliseconds == 0
                ? StoreConfiguration.defaultSweepIntervalMilliseconds : configuration.sweepIntervalMilliseconds
            sweeper = Sweeper(shards: shards, intervalMilliseconds: interval)
        } else {
            sweeper = nil
        }
    }

    deinit {
        sweeper?.stop()
    }

    // MARK: - Core operations on raw bytes

    /// Inserts or replaces `key` → `value` (both copied), then evicts by the policy
    /// until the key's shard is within budget.
    /// - Throws: `.tooLarge` (key or value over its limit, or the entry alone over its
    ///   shard's byte budget; the old value then stays), `.invalidArgument` (a TTL ≤ 0 ms),
    ///   `.noMemory`.
    /// - Complexity: O(1) expected, plus the evictions it causes.
    public func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, ttl: TTL = .default) throws(CacheError) {
        try Self.checkKey(key)
        guard value.count <= Self.maxValueLength else {
            throw CacheError(.tooLarge, "value is \(value.count) bytes; the limit is \(Self.maxValueLength)")
        }
        let expiry = try deadline(for: ttl)
        let hash = StableHash.hash64(key)
        let outcome = shards.withShardResizing(shardIndex(hash)) { $0.set(key, value, hash: hash, expiry: expiry) }
        switch outcome {
        case .stored:
            if expiry != 0, let sweeper, !sweeperStarted.load(ordering: .relaxed) {
                sweeperStarted.store(true, ordering: .relaxed)
                sweeper.startIfNeeded()
            }
        case .tooLarge(let charge, let budget):
            throw CacheError(.tooLarge, "entry needs \(charge) bytes but its shard's byte budget is \(budget) (max_bytes / shards)")
        case .noMemory:
            throw CacheError(.noMemory, "out of memory storing a \(value.count)-byte value")
        }
    }

    /// Calls `body` with the value of `key` while its shard is locked, and returns
    /// its result; nil when the key is absent or expired. Counts as an access.
    /// `body` must be short and must not call back into this store.
    public func withValue<R>(forKey key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) throws(CacheError) -> R? {
        try Self.checkKey(key)
        let hash = StableHash.hash64(key)
        return shards.withShard(shardIndex(hash)) { state in
            state.lookup(key, hash: hash).map { body($0.value) }
        }
    }

    /// Like ``withValue(forKey:_:)``, and also passes the entry's remaining lifetime:
    /// milliseconds (at least 1), or nil when it never expires. Counts as an access.
    public func withValueAndTTL<R>(forKey key: UnsafeRawBufferPointer,
                                   _ body: (UnsafeRawBufferPointer, Int64?) -> R) throws(CacheError) -> R? {
        try Self.checkKey(key)
        let hash = StableHash.hash64(key)
        return shards.withShard(shardIndex(hash)) { state in
            state.lookup(key, hash: hash).map { body($0.value, Self.remaining($0)) }
        }
    }

    /// Like ``withValueAndTTL(forKey:_:)`` without counting or touching the policy.
    func peekValueAndTTL(forKey key: UnsafeRawBufferPointer) -> ([UInt8], Int64?)? {
        guard key.count <= Self.maxKeyLength else { return nil }
        let hash = StableHash.hash64(key)
        return shards.withShard(shardIndex(hash)) { state in
            state.peek(key, hash: hash).map { (Array($0.value), Self.remaining($0)) }
        }
    }

    @inline(__always)
    private static func remaining(_ e: Entry) -> Int64? {
        guard e.hasExpiry else { return nil }
        return max(1, e.expiry - MonotonicClock.nowMilliseconds())
    }

    /// A copy of the value of `key` in memory from ``Allocator`` (release it with
    /// ``Allocator/free(_:)``); nil when absent or expired. Counts as an access.
    /// An empty value still gets a (1-byte) allocation, so the pointer is never nil.
    public func copyValue(forKey key: UnsafeRawBufferPointer) throws(CacheError) -> UnsafeMutableRawBufferPointer? {
        try Self.checkKey(key)
        let hash = StableHash.hash64(key)
        let shard = shardIndex(hash)
        shards.prefetch(shard, hash: hash)
        let result: CopyResult = shards.withShard(shard) { state in
            guard let e = state.lookup(key, hash: hash) else { return .absent }
            return Self.copyOut(e)
        }
        return try result.unwrap()
    }

    /// Copies the value of `key` into `buffer` if it fits, and returns its length
    /// either way (compare with `buffer.count`); nil when absent or expired. Counts as
    /// an access. Allocates nothing.
    public func copyValue(forKey key: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) throws(CacheError) -> Int? {
        try Self.checkKey(key)
        let hash = StableHash.hash64(key)
        let shard = shardIndex(hash)
        shards.prefetch(shard, hash: hash)
        return shards.withShard(shard) { state -> Int? in
            guard let e = state.lookup(key, hash: hash) else { return nil }
            let n = e.valueLength
            if n <= buffer.count, n > 0 {
                buffer.baseAddress!.copyMemory(from: e.value.baseAddress!, byteCount: n)
            }
            return n
        }
    }

    /// Removes `key`; returns whether a live entry was removed.
    /// - Throws: `.tooLarge` for a key over the limit.
    @discardableResult
    public func delete(_ key: UnsafeRawBufferPointer) throws(CacheError) -> Bool {
        try Self.checkKey(key)
        let hash = StableHash.hash64(key)
        return shards.withShard(shardIndex(hash)) { $0.delete(key, hash: hash) }
    }

    /// Removes every entry, without counting them as deletes or evictions.
    public func removeAll() {
        for i in 0..<shardCount { shards.withShardResizing(i) { $0.removeAll() } }
    }

    /// A snapshot of the counters, each shard read under its own lock.
    public func stats() -> StoreStats {
        var s = StoreStats()
        for i in 0..<shardCount {
            shards.withShard(i) { st in
                s.hits += st.hits
                s.misses += st.misses
                s.sets += st.sets
                s.deletes += st.deletes
                s.evictions += st.evictions
                s.expirations += st.expirations
                s.bytes += UInt64(st.bytes)
                s.entries += UInt64(st.count)
            }
        }
        s.maxBytes = configuration.maxBytes
        s.maxEntries = configuration.maxEntries
        s.shards = shardCount
        return s
    }

    /// Runs one active-expiry pass now, on the calling thread; returns the number of
    /// entries it removed. (The sweeper thread does this periodically.)
    @discardableResult
    public func sweepExpired() -> Int {
        (sweeper ?? Sweeper(shards: shards, intervalMilliseconds: 0)).sweepOnce(now: MonotonicClock.nowMilliseconds())
    }

    // MARK: - Helpers

    @inline(__always)
    private func shardIndex(_ hash: UInt64) -> Int {
        shards.index(hash)
    }

    @inline(__always)
    static func checkKey(_ key: UnsafeRawBufferPointer) throws(CacheError) {
        guard key.count <= maxKeyLength else {
            throw CacheError(.tooLarge, "key is \(key.count) bytes; the limit is \(maxKeyLength)")
        }
    }

    private func deadline(for ttl: TTL) throws(CacheError) -> Int64 {
        let ms: Int64
        switch ttl {
        case .never: return 0
        case .default:
            ms = configuration.defaultTTLMilliseconds
            if ms == 0 { return 0 }
        case .milliseconds(let m):
            guard m > 0 else { throw CacheError(.invalidArgument, "TTL must be > 0 ms; got \(m)") }
            ms = m
        }
        let (sum, overflow) = MonotonicClock.nowMilliseconds().addingReportingOverflow(ms)
        return overflow ? 0 : sum  // a deadline past Int64.max never comes: no expiry
    }

    private enum CopyResult {
        case absent, copied(UnsafeMutableRawBufferPointer), noMemory(Int)

        func unwrap() throws(CacheError) -> UnsafeMutableRawBufferPointer? {
            switch self {
            case .absent: return nil
            case .copied(let b): return b
            case .noMemory(let n): throw CacheError(.noMemory, "out of memory copying a \(n)-byte value")
            }
        }
    }

    @inline(__always)
    private static func copyOut(_ e: Entry) -> CopyResult {
        let n = e.valueLength
        guard let p = Allocator.allocate(n) else { return .noMemory(n) }
        if n > 0 { p.copyMemory(from: e.value.baseAddress!, byteCount: n) }
        return .copied(UnsafeMutableRawBufferPointer(start: p, count: n))
    }

    private static let cpuCount: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

// MARK: - Conveniences for Swift callers

extension Store {
    /// The value of `key`, or nil.
    public func get(_ key: [UInt8]) throws(CacheError) -> [UInt8]? {
        try key.withUnsafeBytes { k in
            Result { () throws(CacheError) in try withValue(forKey: k) { Array($0) } }
        }.get()
    }

    /// The value of the UTF-8 bytes of `key`, or nil.
    public func get(_ key: String) throws(CacheError) -> [UInt8]? {
        try get(Array(key.utf8))
    }
}

extension Store: ByteStringWrites {}

/// A cache that writes byte strings (``Store``, ``Group``): the conveniences for arrays
/// and strings, written once over its raw-pointer `set` and `delete`.
public protocol ByteStringWrites {
    func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, ttl: TTL) throws(CacheError)
    func delete(_ key: UnsafeRawBufferPointer) throws(CacheError) -> Bool
}

extension ByteStringWrites {
    /// Sets `key` → `value`.
    @inlinable
    public func set(_ key: [UInt8], _ value: [UInt8], ttl: TTL = .default) throws(CacheError) {
        try key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in Result { () throws(CacheError) in try set(k, v, ttl: ttl) } }
        }.get()
    }

    /// Sets the UTF-8 bytes of `key` → those of `value`.
    @inlinable
    public func set(_ key: String, _ value: String, ttl: TTL = .default) throws(CacheError) {
        try set(Array(key.utf8), Array(value.utf8), ttl: ttl)
    }

    /// Removes `key`; whether it was there.
    @inlinable @discardableResult
    public func delete(_ key: [UInt8]) throws(CacheError) -> Bool {
        try key.withUnsafeBytes { k in Result { () throws(CacheError) in try delete(k) } }.get()
    }

    /// Removes the UTF-8 bytes of `key`; whether it was there.
    @inlinable @discardableResult
    public func delete(_ key: String) throws(CacheError) -> Bool {
        try delete(Array(key.utf8))
    }
}

#if DEBUG
extension Store {
    /// Checks every shard's index against its lists and budget (tests only).
    func checkInvariants() -> String? {
        for i in 0..<shardCount {
            if let problem = shards.withShard(i, { $0.checkInvariants() }) { return "shard \(i): \(problem)" }
        }
        return nil
    }
}
#endif
