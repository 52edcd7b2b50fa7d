import Synchronization

/// What a loader found for a key.
public struct LoadedValue: Sendable, Hashable {
    public var bytes: [UInt8]
    /// How long the group keeps it.
    public var ttl: TTL

    public init(_ bytes: [UInt8], ttl: TTL = .default) {
        self.bytes = bytes
        self.ttl = ttl
    }
}

/// A named, read-through cache: a ``Store`` plus a loader that fills its misses.
///
/// `get` answers from the store when it can; on a miss it runs the loader through
/// ``SingleFlight``, so concurrent gets of one missing key cause one load, caches the
/// result (with the TTL the loader chose) and returns it.
///
/// Writes win over fills: a load that began before a `set` or `delete` of its key
/// does not store its result over what the write left (``WriteGenerations``), and a
/// `get` that begins after a write never shares a load that began before it. So once
/// a write has returned, no later `get` returns what the key held before it.
/// Write through the group (``set(_:_:ttl:)``, ``delete(_:)``), not its ``store``.
///
/// Thread safety: every method may be called from any thread concurrently.
public final class Group: Sendable {
    /// Loads the value of a key on a miss: the value, or nil if the key does not
    /// exist (nothing is cached). Errors it throws reach the caller of `get` as
    /// `.loaderFailed`. It runs on the thread that called `get`.
    public typealias Loader = @Sendable (_ key: [UInt8]) throws -> LoadedValue?

    public let name: String
    /// The group's cache. Its hit and miss counters are the group's. Reading it
    /// directly is fine; writes must go through the group, which orders them after
    /// fills in flight.
    public let store: Store
    private let loader: Loader
    private let flights = SingleFlight<[UInt8], LoadedValue>()
    /// Orders the loads' stores after the writes (see the type's doc).
    private let order = WriteGenerations()
    private let loads = Atomic<UInt64>(0)
    private let loadsDeduplicated = Atomic<UInt64>(0)
    private let loaderErrors = Atomic<UInt64>(0)
    private let loaderNotFound = Atomic<UInt64>(0)

    /// - Throws: `.invalidArgument` for an empty name or a bad store configuration.
    public init(name: String, configuration: StoreConfiguration = StoreConfiguration(),
                loader: @escaping Loader) throws(CacheError)
    {
        guard !name.isEmpty else { throw CacheError(.invalidArgument, "group name must not be empty") }
        self.name = name
        store = try Store(configuration)
        self.loader = loader
    }

    /// The value of `key` in memory from ``Allocator`` (release with
    /// ``Allocator/free(_:)``), from the cache or loaded.
    /// - Throws: `.notFound` (the loader returned nil), `.loaderFailed`, `.tooLarge`
    ///   (key), `.noMemory`, `.misuse` (a loader getting the key it is loading).
    public func copyValue(forKey key: UnsafeRawBufferPointer) throws(CacheError) -> UnsafeMutableRawBufferPointer {
        if let hit = try store.copyValue(forKey: key) { return hit }
        let bytes = try load(Array(key)).bytes
        guard let p = Allocator.allocate(bytes.count) else {
            throw CacheError(.noMemory, "out of memory copying a \(bytes.count)-byte value")
        }
        let out = UnsafeMutableRawBufferPointer(start: p, count: bytes.count)
        bytes.withUnsafeBytes { if $0.count > 0 { out.copyMemory(from: $0) } }
        return out
    }

    /// The value of `key`, from the cache or loaded. Throws as ``copyValue(forKey:)``.
    public func get(_ key: [UInt8]) throws(CacheError) -> [UInt8] {
        let hit = try key.withUnsafeBytes { k in
            Result { () throws(CacheError) in try store.withValue(forKey: k) { Array($0) } }
        }.get()
        if let hit { return hit }
        return try load(key).bytes
    }

    /// The value of `key` and its remaining lifetime (``TTL/never`` or
    /// ``TTL/milliseconds(_:)``), from the cache or loaded. Throws as ``get(_:)``.
    /// A node uses this to send the expiry along with a value.
    public func getWithTTL(_ key: [UInt8]) throws(CacheError) -> LoadedValue {
        if let hit = try cached(key) { return hit }
        return try load(key)
    }

    /// Loads `key` for a caller that has just missed in the cache (the miss is already
    /// counted): the value and its lifetime. Throws as ``get(_:)``.
    public func loadAfterMiss(_ key: [UInt8]) throws(CacheError) -> LoadedValue {
        try load(key)
    }

    /// Whether the cache holds `key` now, with its value and remaining lifetime;
    /// never loads. Counts as a hit or miss.
    public func cached(_ key: [UInt8]) throws(CacheError) -> LoadedValue? {
        try key.withUnsafeBytes { k in
            Result { () throws(CacheError) in
                try store.withValueAndTTL(forKey: k) { v, ms in LoadedValue(Array(v), ttl: ms.map { .milliseconds($0) } ?? .never) }
            }
        }.get()
    }

    public func get(_ key: String) throws(CacheError) -> [UInt8] {
        try get(Array(key.utf8))
    }

    /// Stores a value directly (see ``Store/set(_:_:ttl:)``). A load of the key that
    /// is in flight will not replace it, and gets from now on see it.
    public func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, ttl: TTL = .default) throws(CacheError) {
        try order.write(key) { () throws(CacheError) in try store.set(key, value, ttl: ttl) }
        if !flights.isIdle { flights.forget(Array(key)) }
    }

    /// Removes a key from the cache; whether it was there. A load of the key that is
    /// in flight will not store its result, and gets from now on load anew.
    @discardableResult
    public func delete(_ key: UnsafeRawBufferPointer) throws(CacheError) -> Bool {
        let removed = try order.write(key) { () throws(CacheError) in try store.delete(key) }
        if !flights.isIdle { flights.forget(Array(key)) }
        return removed
    }

    /// A snapshot of the group's and its store's counters.
    public func stats() -> GroupStats {
        let s = store.stats()
        return GroupStats(
            gets: s.hits + s.misses, hits: s.hits, misses: s.misses,
            loads: loads.load(ordering: .relaxed),
            loadsDeduplicated: loadsDeduplicated.load(ordering: .relaxed),
            loaderErrors: loaderErrors.load(ordering: .relaxed),
            loaderNotFound: loaderNotFound.load(ordering: .relaxed),
            store: s)
    }

    /// Runs the loader for `key` and returns its value without caching it: what a node
    /// does for a key it does not own while the owner cannot be reached (it keeps the
    /// copy in its hot tier, for a bounded time). Counted as a load; not deduplicated
    /// (the node does that). Throws as ``get(_:)``.
    public func loadUncached(_ key: [UInt8]) throws(CacheError) -> LoadedValue {
        let loaded = try callLoader(key)
        if case .milliseconds(let ms) = loaded.ttl, ms <= 0 {
            loaderErrors.add(1, ordering: .relaxed)
            throw CacheError(.loaderFailed, "loader for group '\(name)' returned an invalid TTL: \(ms) ms")
        }
        return LoadedValue(loaded.bytes, ttl: resolved(loaded.ttl))
    }

    /// Calls the loader once, counting the load and its outcome.
    private func callLoader(_ key: [UInt8]) throws(CacheError) -> LoadedValue {
        loads.add(1, ordering: .relaxed)
        let loaded: LoadedValue?
        do {
            loaded = try loader(key)
        } catch let error as CacheError where error.code == .notFound {
            loaderNotFound.add(1, ordering: .relaxed)
            throw error
        } catch let error as CacheError where error.code == .loaderFailed {
            loaderErrors.add(1, ordering: .relaxed)
            throw error
        } catch {
            loaderErrors.add(1, ordering: .relaxed)
            throw CacheError(.loaderFailed, "loader for group '\(name)' failed: \(error)")
        }
        guard let loaded else {
            loaderNotFound.add(1, ordering: .relaxed)
            throw CacheError(.notFound, "loader for group '\(name)' found no value for the key")
        }
        return loaded
    }

    /// The miss path: one load per key at a time, shared by every concurrent caller.
    private func load(_ key: [UInt8]) throws(CacheError) -> LoadedValue {
        let (result, shared) = flights.run(key) { () throws -> LoadedValue in
            // The generation is read before the second look below: a write that lands
            // after it moves the generation (so our store is skipped), and a write that
            // landed before it is what the second look finds.
            let generation = order.current(key)
            // A concurrent caller may have loaded this key and finished its flight
            // between our miss in the store and our becoming leader here (or a write
            // may have stored it); its value is cached now, so look again (uncounted)
            // before loading a second time.
            if let (bytes, ms) = key.withUnsafeBytes({ store.peekValueAndTTL(forKey: $0) }) {
                return LoadedValue(bytes, ttl: ms.map { .milliseconds($0) } ?? .never)
            }
            let loaded = try callLoader(key)
            do {
                // Skipped when a write of the key came after the generation was read:
                // the write's value (or its absence) stands.
                try key.withUnsafeBytes { k in
                    loaded.bytes.withUnsafeBytes { v in
                        Result { () throws(CacheError) in
                            _ = try order.fill(k, ifStill: generation) { () throws(CacheError) in
                                try store.set(k, v, ttl: loaded.ttl)
                            }
                        }
                    }
                }.get()
            } catch let error as CacheError where error.code == .tooLarge {
                // Too large to cache: still the caller's answer.
            } catch let error as CacheError where error.code == .invalidArgument {
                loaderErrors.add(1, ordering: .relaxed)
                throw CacheError(.loaderFailed, "loader for group '\(name)' returned an invalid TTL: \(error.message)")
            }
            return LoadedValue(loaded.bytes, ttl: resolved(loaded.ttl))
        }
        if shared { loadsDeduplicated.add(1, ordering: .relaxed) }
        switch result {
        case .success(let value): return value
        case .failure(let error as CacheError): throw error
        case .failure(let error): throw CacheError(.internal, "unexpected error: \(error)")
        }
    }
}

extension Group: ByteStringWrites {}

extension Group {
    /// `ttl` with ``TTL/default`` replaced by the store's default.
    func resolved(_ ttl: TTL) -> TTL {
        guard case .default = ttl else { return ttl }
        let d = store.configuration.defaultTTLMilliseconds
        return d == 0 ? .never : .milliseconds(d)
    }
}

/// A snapshot of a group's counters.
public struct GroupStats: Sendable, Hashable {
    /// Gets answered (hits + misses).
    public var gets: UInt64
    public var hits: UInt64
    /// Gets that went to a load (their own or a shared one).
    public var misses: UInt64
    /// Loader calls.
    public var loads: UInt64
    /// Misses that shared another caller's load.
    public var loadsDeduplicated: UInt64
    public var loaderErrors: UInt64
    public var loaderNotFound: UInt64
    public var store: StoreStats
}
