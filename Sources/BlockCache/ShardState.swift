import CBlockCacheAlloc

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Everything one shard owns, always used under that shard's lock.
///
/// The index is an open-addressing table with linear probing. A slot is one 64-bit
/// word: the entry's address in the low 48 bits and a 16-bit tag of the key's hash in
/// the high 16, so a probe rejects almost every non-matching slot without touching
/// the entry (a lookup costs one slot read and one entry read). Deletion shifts the
/// following run back (no tombstones), recomputing hashes from the entries' keys.
struct ShardState: ~Copyable {
    /// Grow the table past 3/4 full: linear probing stays short (about 2.5 probes
    /// per hit, all within one or two cache lines) at a cost of 8-16 bytes per entry.
    static let maxLoad = (numerator: 3, denominator: 4)
    static let initialCapacity = 16
    /// Bytes charged per entry for its share of the index (an 8-byte slot at a load
    /// factor between 3/8 and 3/4).
    static let indexChargePerEntry = 16
    static let pointerMask: UInt64 = (1 << 48) - 1

    private var slots: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    private var lists: PolicyLists
    /// Budgets of this shard; Int.max when unlimited.
    let maxEntries: Int
    let maxBytes: Int

    var hits: UInt64 = 0
    var misses: UInt64 = 0
    var sets: UInt64 = 0
    var deletes: UInt64 = 0
    var evictions: UInt64 = 0
    var expirations: UInt64 = 0
    /// Where the next active-expiry sweep starts in the table.
    private var sweepCursor = 0

    init(policy: EvictionPolicy, maxEntries: Int, maxBytes: Int) {
        capacity = Self.initialCapacity
        // 128 bytes; if even that cannot be had, nothing else will work either.
        guard let initial = Self.allocateSlots(capacity) else {
            fatalError("BlockCache: out of memory creating a shard")
        }
        slots = initial
        lists = PolicyLists(policy: policy, maxEntries: maxEntries, maxBytes: maxBytes)
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    deinit {
        lists.forEach { $0.deallocate() }
        bcmem_table_free(slots, capacity * MemoryLayout<UInt64>.stride)
    }

    /// The index table's address and mask, for prefetching.
    var table: (address: UInt, mask: UInt) { (UInt(bitPattern: slots), UInt(capacity - 1)) }

    /// Where W-TinyLFU's sketch counters are, for prefetching; nil when there is none.
    var sketchLocator: FrequencySketch.Locator? {
        lists.policy == .wtinylfu && lists.tinyLFU.unit != .unbounded ? lists.tinyLFU.sketch.locator : nil
    }

    /// W-TinyLFU's current window share (tests and diagnostics).
    var windowShare: Int { lists.tinyLFU.windowMax }

    /// The sampled access W-TinyLFU left for replay in its shadows, if any (taken:
    /// the caller replays it after unlocking the shard).
    @inline(__always)
    mutating func takeSample() -> SharedWindowChooser.Sample? {
        guard lists.tinyLFU.pendingSample != nil else { return nil }
        defer { lists.tinyLFU.pendingSample = nil }
        return lists.tinyLFU.pendingSample
    }

    /// Applies a period's choice of W-TinyLFU's window share.
    mutating func applyChoice(_ share: Double) { lists.applyChoice(share) }

    /// W-TinyLFU's budget, in its unit and in keys, for the store's window chooser; nil
    /// for the other policies and for an unbounded shard (which never samples).
    var tinyLFUBudget: (capacity: Int, keys: Int)? {
        lists.policy == .wtinylfu && lists.tinyLFU.unit != .unbounded ? (lists.tinyLFU.capacity, lists.tinyLFU.keys) : nil
    }

    /// Makes W-TinyLFU sample the keys the store's chooser samples.
    mutating func setSamplingThreshold(_ threshold: UInt64) { lists.tinyLFU.samplingThreshold = threshold }

    #if DEBUG
    /// Fixes the window's share: the shard samples nothing and ignores the store
    /// chooser's choices.
    mutating func fixWindowForTesting(_ share: Int) {
        lists.tinyLFU.samplingThreshold = 0
        lists.tinyLFU.choiceFixed = true
        lists.resizeWindow(to: share)
    }
    #endif

    var count: Int { lists.count }
    var bytes: Int { lists.bytes }

    /// Bytes an entry is charged against the budget: what the allocator really
    /// reserves for its block plus its share of the index.
    @inline(__always)
    static func charge(of e: Entry) -> Int {
        Allocator.sizeClass(e.blockSize) + indexChargePerEntry
    }

    /// An entry's weight for W-TinyLFU's window and main shares.
    @inline(__always)
    static func weight(of e: Entry, unit: WindowTinyLFU.Unit) -> Int {
        unit == .entries ? 1 : charge(of: e)
    }

    @inline(__always)
    static func charge(blockSize: Int) -> Int {
        Allocator.sizeClass(blockSize) + indexChargePerEntry
    }

    // MARK: - Operations

    /// Finds a live entry, counting a hit or a miss, expiring it lazily if its time
    /// has passed, and recording the access with the policy.
    /// - Complexity: O(1) expected.
    @inline(__always)
    mutating func lookup(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Entry? {
        let (index, found) = findSlot(key, hash: hash)
        guard found else {
            misses &+= 1
            return nil
        }
        let e = entry(at: index)
        if e.hasExpiry && e.expiry <= MonotonicClock.nowMilliseconds() {
            removeEntry(e, at: index)
            expirations &+= 1
            misses &+= 1
            return nil
        }
        hits &+= 1
        lists.access(e, hash: hash)
        return e
    }

    /// Finds a live entry without counting or touching the policy (expired entries
    /// are left for the sweeper or the next lookup).
    mutating func peek(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Entry? {
        let (index, found) = findSlot(key, hash: hash)
        guard found else { return nil }
        let e = entry(at: index)
        if e.hasExpiry && e.expiry <= MonotonicClock.nowMilliseconds() { return nil }
        return e
    }

    enum SetOutcome { case stored, tooLarge(charge: Int, budget: Int), noMemory }

    /// Inserts or replaces `key`, then evicts by the policy until within budget.
    /// `expiry` is a monotonic-ms deadline, 0 for none.
    /// - Complexity: O(1) expected, plus O(evicted).
    mutating func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                      hash: UInt64, expiry: Int64) -> SetOutcome
    {
        let size = Entry.blockSize(keyLength: key.count, valueLength: value.count, hasExpiry: expiry != 0)
        let charge = Self.charge(blockSize: size)
        if charge > maxBytes { return .tooLarge(charge: charge, budget: maxBytes) }

        var (index, found) = findSlot(key, hash: hash)
        if found {
            let old = entry(at: index)
            if old.hasExpiry == (expiry != 0),
               Allocator.sizeClass(old.blockSize) == Allocator.sizeClass(size)
            {
                // Same size class and layout: overwrite in place. The charge is the same,
                // so nothing needs evicting; the replacement counts as an access.
                old.overwrite(value: value, expiry: expiry)
                lists.access(old, hash: hash)
                sets &+= 1
                return .stored
            }
        }
        guard let fresh = Entry.make(key: key, value: value, expiry: expiry) else { return .noMemory }
        precondition(UInt64(fresh.bits) & ~Self.pointerMask == 0, "BlockCache: allocator returned an address above 2^48")

        if found {
            // The new block takes the old one's place in the index and on its list;
            // a replacement counts as an access.
            let old = entry(at: index)
            lists.replace(old, oldCharge: Self.charge(of: old), with: fresh, hash: hash, charge: charge)
            old.deallocate()
            slots[index] = Self.slot(fresh, hash: hash)
        } else {
            if (count + 1) * Self.maxLoad.denominator > capacity * Self.maxLoad.numerator {
                guard grow() else {
                    fresh.deallocate()
                    return .noMemory
                }
                index = findSlot(key, hash: hash).index
            }
            slots[index] = Self.slot(fresh, hash: hash)
            lists.insert(fresh, hash: hash, charge: charge)
        }
        sets &+= 1
        while count > maxEntries || bytes > maxBytes,
              let victim = lists.victim(keeping: fresh)
        {
            let victimHash = StableHash.hash64(victim.key)
            lists.willEvict(victim, hash: victimHash)
            remove(victim, hash: victimHash)
            evictions &+= 1
        }
        return .stored
    }

    /// Removes `key`; whether it was there (an expired entry counts as absent).
    mutating func delete(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        let (index, found) = findSlot(key, hash: hash)
        guard found else { return false }
        let e = entry(at: index)
        let expired = e.hasExpiry && e.expiry <= MonotonicClock.nowMilliseconds()
        removeEntry(e, at: index)
        if expired {
            expirations &+= 1
            return false
        }
        deletes &+= 1
        return true
    }

    /// Removes every entry without counting them.
    mutating func removeAll() {
        lists.drain { $0.deallocate() }
        slots.update(repeating: 0, count: capacity)
        sweepCursor = 0
    }

    /// Active expiry: examines up to `limit` slots from where the last sweep stopped
    /// and removes the expired entries among them.
    /// - Returns: slots examined and entries removed.
    mutating func sweep(limit: Int, now: Int64) -> (examined: Int, expired: Int) {
        var examined = 0, expired = 0
        var i = sweepCursor & (capacity - 1)
        while examined < min(limit, capacity) {
            let s = slots[i]
            if s != 0 {
                let e = Entry(bits: UInt(s & Self.pointerMask))!
                if e.hasExpiry && e.expiry <= now {
                    removeEntry(e, at: i)
                    expirations &+= 1
                    expired += 1
                    examined += 1
                    continue  // a later entry may have shifted into slot i
                }
            }
            examined += 1
            i = (i + 1) & (capacity - 1)
        }
        sweepCursor = i
        return (examined, expired)
    }

    // MARK: - Index

    @inline(__always)
    private static func slot(_ e: Entry, hash: UInt64) -> UInt64 {
        UInt64(e.bits) | (hash & 0xFFFF_0000_0000) << 16
    }

    @inline(__always)
    private func entry(at index: Int) -> Entry {
        Entry(bits: UInt(slots[index] & Self.pointerMask))!
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func findSlot(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (index: Int, found: Bool) {
        let mask = capacity - 1
        let tag = (hash & 0xFFFF_0000_0000) << 16
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == 0 { return (i, false) }
            if s & ~Self.pointerMask == tag, Entry(bits: UInt(s & Self.pointerMask))!.keyEquals(key) {
                return (i, true)
            }
            i = (i + 1) & mask
        }
    }

    /// Removes `e`, wherever it is in the index.
    private mutating func remove(_ e: Entry, hash: UInt64) {
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] & Self.pointerMask != UInt64(e.bits) { i = (i + 1) & mask }
        removeEntry(e, at: i)
    }

    /// Unlinks and frees the entry in slot `index`, closing the gap by shifting back
    /// the entries after it whose home slot allows it (backward-shift deletion).
    private mutating func removeEntry(_ e: Entry, at index: Int) {
        lists.remove(e, charge: Self.charge(of: e))
        e.deallocate()
        let mask = capacity - 1
        var hole = index
        var j = index
        while true {
            j = (j + 1) & mask
            let s = slots[j]
            if s == 0 { break }
            let moved = Entry(bits: UInt(s & Self.pointerMask))!
            let home = Int(truncatingIfNeeded: StableHash.hash64(moved.key)) & mask
            // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                slots[hole] = s
                hole = j
            }
        }
        slots[hole] = 0
    }

    /// Doubles the table and reinserts every entry; false (and nothing changed) when
    /// the memory for the larger table cannot be had.
    private mutating func grow() -> Bool {
        let oldSlots = slots, oldCapacity = capacity
        guard let larger = Self.allocateSlots(oldCapacity * 2) else { return false }
        capacity = oldCapacity * 2
        slots = larger
        let mask = capacity - 1
        for k in 0..<oldCapacity {
            let s = oldSlots[k]
            if s == 0 { continue }
            let hash = StableHash.hash64(Entry(bits: UInt(s & Self.pointerMask))!.key)
            var i = Int(truncatingIfNeeded: hash) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = s
        }
        bcmem_table_free(oldSlots, oldCapacity * MemoryLayout<UInt64>.stride)
        sweepCursor = 0
        return true
    }

    private static func allocateSlots(_ capacity: Int) -> UnsafeMutablePointer<UInt64>? {
        bcmem_table_alloc(capacity * MemoryLayout<UInt64>.stride)?
            .bindMemory(to: UInt64.self, capacity: capacity)  // zero-filled
    }

    #if DEBUG
    /// Checks that the index and the lists agree (tests only).
    func checkInvariants() -> String? {
        var inTable = 0
        for i in 0..<capacity where slots[i] != 0 {
            inTable += 1
            let e = entry(at: i)
            let (index, found) = findSlot(e.key, hash: StableHash.hash64(e.key))
            if !found || index != i { return "slot \(i) is not reachable from its home" }
        }
        if inTable != count { return "table holds \(inTable) entries, lists \(count)" }
        var listed = 0, charged = 0
        lists.forEach { e in listed += 1; charged += Self.charge(of: e) }
        if listed != count || charged != bytes { return "list totals disagree" }
        if count > maxEntries || bytes > maxBytes { return "over budget" }
        return nil
    }
    #endif
}
