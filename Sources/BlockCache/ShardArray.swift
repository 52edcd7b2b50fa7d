import Synchronization
import CBlockCacheAlloc

/// The shards of a store: each a ``ShardState`` behind its own lock, allocated on
/// its own 128-byte-aligned block so that two shards never share a cache line
/// (or an adjacent-line prefetch pair).
///
/// A class so that the store and its sweeper thread can share it; the shards are
/// reached through raw pointers so that the hit path does no reference counting.
///
/// It also owns the store's W-TinyLFU window chooser (one for all the shards, see
/// ``WindowChooser``), whose shadows read the shards' sketches.
final class ShardArray: @unchecked Sendable {
    /// Each shard's block: its lock word (a bclock, see blockcache_lock.h) at
    /// offset 0, which protects `state`, then the `Shard` at ``shardOffset``.
    struct Shard: ~Copyable {
        /// The index table's address and mask, published after every change for
        /// lock-free prefetching (see ``prefetch(_:hash:)``).
        let tableAddress = Atomic<UInt>(0)
        let tableMask = Atomic<UInt>(0)
        /// W-TinyLFU's sketch (which never moves), for prefetching; nil for the other
        /// policies and for unbounded shards.
        let sketch: FrequencySketch.Locator?
        var state: ShardState

        init(state: consuming ShardState) {
            sketch = state.sketchLocator
            self.state = state
        }
    }
    static let shardAlignment = 128
    static let shardOffset = 8

    let count: Int
    /// A key's shard is the top log2(count) bits of its hash: ``index(_:)``.
    let shift: UInt64
    private let shards: UnsafeMutablePointer<UnsafeMutablePointer<Shard>>
    /// The store's W-TinyLFU window chooser; nil for the other policies and for an
    /// unbounded store.
    let chooser: SharedWindowChooser?

    /// `budgets[i]` is shard i's (maxEntries, maxBytes), Int.max for unlimited; their
    /// number must be a power of two.
    init(policy: EvictionPolicy, budgets: [(entries: Int, bytes: Int)]) {
        count = budgets.count
        precondition(count > 0 && count & (count - 1) == 0, "the shard count must be a power of two")
        shift = UInt64(64 - count.trailingZeroBitCount)
        shards = .allocate(capacity: count)
        let size = (Self.shardOffset + MemoryLayout<Shard>.stride + Self.shardAlignment - 1)
            / Self.shardAlignment * Self.shardAlignment
        for i in 0..<count {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.shardAlignment)
            raw.bindMemory(to: UInt32.self, capacity: 1).initialize(to: 0)
            let p = (raw + Self.shardOffset).bindMemory(to: Shard.self, capacity: 1)
            p.initialize(to: Shard(state: ShardState(policy: policy, maxEntries: budgets[i].entries, maxBytes: budgets[i].bytes)))
            shards[i] = p
            Self.publishTable(p, p.pointee.state.table)
        }
        chooser = Self.makeChooser(shards, count: count, shift: shift)
        if let chooser {
            for i in 0..<count { shards[i].pointee.state.setSamplingThreshold(chooser.threshold) }
        }
    }

    /// One chooser for the whole store, sized to the sum of the shards' budgets; nil
    /// unless every shard is a bounded W-TinyLFU shard.
    private static func makeChooser(_ shards: UnsafeMutablePointer<UnsafeMutablePointer<Shard>>, count: Int, shift: UInt64) -> SharedWindowChooser? {
        var capacity = 0, keys = 0
        var sketches: [FrequencySketch.Locator] = []
        for i in 0..<count {
            guard let budget = shards[i].pointee.state.tinyLFUBudget, let sketch = shards[i].pointee.sketch else { return nil }
            // Saturating sums: a byte budget may be close to Int.max.
            let c = capacity.addingReportingOverflow(budget.capacity), k = keys.addingReportingOverflow(budget.keys)
            capacity = c.overflow ? .max : c.partialValue
            keys = k.overflow ? .max : k.partialValue
            sketches.append(sketch)
        }
        return SharedWindowChooser(WindowChooser(capacity: capacity, keys: keys),
                                   frequency: WindowChooser.Frequencies(sketches: sketches, shardShift: shift))
    }

    /// The shard that holds a key with this hash.
    @inline(__always)
    func index(_ hash: UInt64) -> Int { Self.index(hash, shift: shift) }

    /// The shard rule: the top bits of the hash (`shift` is 64 for one shard, and a
    /// shift by 64 gives 0).
    @inline(__always)
    static func index(_ hash: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> shift)
    }

    deinit {
        for i in 0..<count {
            shards[i].deinitialize(count: 1)
            (UnsafeMutableRawPointer(shards[i]) - Self.shardOffset).deallocate()
        }
        shards.deallocate()
    }

    /// Starts loading the index slot where `hash` begins its probe in shard `i`, so
    /// that the cache miss overlaps with taking the lock. Reads the table's address
    /// without the lock, through relaxed atomics; a stale address (the table was
    /// just replaced) only wastes the prefetch.
    @inline(__always)
    func prefetch(_ i: Int, hash: UInt64) {
        let shard = shards[i]
        let base = shard.pointee.tableAddress.load(ordering: .relaxed)
        let mask = shard.pointee.tableMask.load(ordering: .relaxed)
        let slot = UInt(truncatingIfNeeded: hash) & mask
        bcmem_prefetch(UnsafeRawPointer(bitPattern: base &+ slot &* 8))
        if let sketch = shard.pointee.sketch { bcmem_prefetch(sketch.address(hash)) }
    }

    private static func publishTable(_ shard: UnsafeMutablePointer<Shard>, _ table: (address: UInt, mask: UInt)) {
        let (address, mask) = table
        if shard.pointee.tableAddress.load(ordering: .relaxed) != address {
            shard.pointee.tableAddress.store(address, ordering: .relaxed)
            shard.pointee.tableMask.store(mask, ordering: .relaxed)
        }
    }

    /// The address of a shard's lock word: stable, since shards never move.
    @inline(__always)
    private static func lockWord(_ shard: UnsafeMutablePointer<Shard>) -> UnsafeMutablePointer<UInt32> {
        (UnsafeMutableRawPointer(shard) - shardOffset).assumingMemoryBound(to: UInt32.self)
    }

    /// Runs `body`, which may replace shard `i`'s index table, under its lock, and
    /// publishes the table for ``prefetch(_:hash:)`` before unlocking.
    @inline(__always)
    func withShardResizing<R>(_ i: Int, _ body: (inout ShardState) -> R) -> R {
        let shard = shards[i]
        return withShard(i) { state in
            defer { Self.publishTable(shard, state.table) }
            return body(&state)
        }
    }

    /// Runs `body` on shard `i` under its lock. `body` must not grow the index
    /// (use ``withShardResizing(_:_:)`` for sets). A shadow replay the access left
    /// (``SharedWindowChooser``) runs after the lock is released.
    ///
    /// A bclock rather than `Mutex<ShardState>.withLock`: see blockcache_lock.h for
    /// the cost reasons; also, `withLock`'s `inout sending` parameter cannot be handed
    /// to a closure that captures the caller's (non-Sendable) key and value buffers.
    @inline(__always)
    func withShard<R>(_ i: Int, _ body: (inout ShardState) -> R) -> R {
        let shard = shards[i]
        let lock = Self.lockWord(shard)
        bclock_lock(lock)
        let result = body(&shard.pointee.state)
        let sample = shard.pointee.state.takeSample()
        bclock_unlock(lock)
        if let sample { replay(sample) }
        return result
    }

    /// ``SharedWindowChooser``'s rules 2 to 4: replays a sample and, when that ends a
    /// period, applies the choice to every shard in turn, under its lock.
    @inline(never)
    private func replay(_ sample: SharedWindowChooser.Sample) {
        guard let chosen = chooser?.replay(sample) else { return }
        for i in 0..<count {
            let lock = Self.lockWord(shards[i])
            bclock_lock(lock)
            shards[i].pointee.state.applyChoice(chosen)
            bclock_unlock(lock)
        }
    }
}
