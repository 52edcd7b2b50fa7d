public import Synchronization

/// Orders read-through fills after writes: a fill that started before a write of its
/// key may not store its (older) result over what the write left.
///
/// Keys are hashed to a fixed number of stripes, each a lock around a counter. A write
/// runs under its stripe's lock and bumps the counter. A fill reads its stripe's
/// counter before it starts loading and stores its result under the same lock only
/// if the counter has not moved; otherwise it stores nothing (its caller still gets
/// the value, which was right when its read began). A write to another key of the
/// same stripe also makes a fill skip its store: that costs a later miss, never a
/// stale value.
///
/// Thread safety: every method may be called from any thread.
public final class WriteGenerations: Sendable {
    @usableFromInline
    final class Stripe: Sendable {
        @usableFromInline
        let generation: Mutex<UInt64>  // counts writes to the stripe's keys
        init() { generation = Mutex(0) }
    }

    @usableFromInline let stripes: [Stripe]
    @usableFromInline let mask: Int

    /// - Parameter stripes: rounded up to a power of two, at least 1.
    public init(stripes: Int = 256) {
        let n = ceilPowerOfTwo(max(1, stripes))
        self.stripes = (0..<n).map { _ in Stripe() }
        mask = n - 1
    }

    @inlinable
    func stripe(_ key: UnsafeRawBufferPointer) -> Stripe { stripe(hash: StableHash.hash64(key)) }

    @inlinable
    func stripe(_ key: [UInt8]) -> Stripe { stripe(hash: StableHash.hash64(key)) }

    @inlinable
    func stripe(hash: UInt64) -> Stripe { stripes[Int(truncatingIfNeeded: hash >> 40) & mask] }

    /// The generation of `key`'s stripe now: read it before a fill starts loading.
    public func current(_ key: [UInt8]) -> UInt64 {
        stripe(key).generation.withLock { $0 }
    }

    /// Runs a write of `key` (`body`) under its stripe's lock, after bumping the
    /// generation, so a fill that read the old generation will not store over it.
    /// The generation moves even when `body` throws (a failed write costs a fill its store).
    @inlinable
    public func write<R, E: Error>(_ key: UnsafeRawBufferPointer, _ body: () throws(E) -> R) throws(E) -> R {
        try stripe(key).generation.withLock { (g: inout UInt64) throws(E) -> R in
            g &+= 1
            return try body()
        }
    }

    @inlinable
    public func write<R, E: Error>(_ key: [UInt8], _ body: () throws(E) -> R) throws(E) -> R {
        try stripe(key).generation.withLock { (g: inout UInt64) throws(E) -> R in
            g &+= 1
            return try body()
        }
    }

    /// Bumps every stripe: no fill in flight stores anything (before a flush).
    public func writeAll() {
        for s in stripes { s.generation.withLock { $0 &+= 1 } }
    }

    /// Runs a fill's store (`body`) under `key`'s stripe lock if no write of the stripe
    /// happened since `generation` was read; nil (nothing run) otherwise.
    @inlinable
    public func fill<R, E: Error>(_ key: UnsafeRawBufferPointer, ifStill generation: UInt64,
                                  _ body: () throws(E) -> R) throws(E) -> R? {
        try stripe(key).generation.withLock { (g: inout UInt64) throws(E) -> R? in
            guard g == generation else { return nil }
            return try body()
        }
    }

    @inlinable
    public func fill<R, E: Error>(_ key: [UInt8], ifStill generation: UInt64,
                                  _ body: () throws(E) -> R) throws(E) -> R? {
        try stripe(key).generation.withLock { (g: inout UInt64) throws(E) -> R? in
            guard g == generation else { return nil }
            return try body()
        }
    }
}
