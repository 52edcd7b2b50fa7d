/// When recently evicted keys were last accessed: W-TinyLFU's memory of keys that are
/// no longer in the cache (``WindowTinyLFU``, rule 2), so that a key coming back can
/// show how soon it came back.
///
/// A direct-mapped table of 32-bit slots, as many as the power of two at or above twice
/// the budget in keys: a slot holds a 16-bit fingerprint of the key's hash (never 0, so
/// an empty slot is 0) and the key's last access time, in the shard's clock ticks mod
/// 2^16. A newer key that maps to the same slot replaces the older one, so the table
/// remembers roughly the last one to two budgets' worth of evictions, in 8-16 bytes per
/// key of budget (a byte budget counts a key per 64 bytes, as the sketch does; at most
/// 2^27 slots, 512 MiB, as the sketch's table is at most 512 MiB). (One slot a key
/// remembers too little on arc-p3: at 200,000 entries the adaptive cache got 58.7-58.8%
/// against 59.2-59.6% with two, in the C simulator with the engine's sample of keys.)
/// Only evictions are remembered, not deletions, expiries or a clear; what was
/// remembered before a clear stays until later evictions overwrite it.
/// A different key whose hash shares the slot and the fingerprint is mistaken for the
/// remembered one about once in 65,535 lookups; the policy then only admits or rejects
/// one candidate on a wrong time.
///
/// It plays the part of LIRS's non-resident HIR entries, which remember a block's last
/// access after the block left the cache (Jiang and Zhang, "LIRS: an efficient low
/// inter-reference recency set replacement policy", SIGMETRICS 2002), and of ARC's and
/// 2Q's ghost lists; unlike a Bloom filter (``GhostFilter``) it also tells when.
struct EvictionHistory {
    private var slots: [UInt32]
    private let mask: Int

    /// Slots per key of budget (before rounding up to a power of two).
    static let slotsPerKey = 2

    /// A history for a budget of about `keys` keys.
    init(keys: Int) {
        let size = ceilPowerOfTwo(max(1, min(max(0, keys), 1 << 26) * Self.slotsPerKey))
        slots = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// Remembers that the key with this hash was last accessed at `time` (ticks, mod 2^16).
    mutating func remember(_ hash: UInt64, lastAccess time: UInt16) {
        let (index, fingerprint) = Self.locate(hash, mask)
        slots[index] = UInt32(fingerprint) << 16 | UInt32(time)
    }

    /// The last access time remembered for the key with this hash (ticks, mod 2^16), or
    /// nil when it is not remembered.
    func lastAccess(_ hash: UInt64) -> UInt16? {
        let (index, fingerprint) = Self.locate(hash, mask)
        let slot = slots[index]
        return slot >> 16 == UInt32(fingerprint) ? UInt16(truncatingIfNeeded: slot) : nil
    }

    /// The slot and fingerprint: from a remix of the hash (the store uses its low bits
    /// for index slots and its top bits for shards).
    @inline(__always)
    private static func locate(_ hash: UInt64, _ mask: Int) -> (Int, UInt16) {
        let mixed = (hash ^ (hash >> 31)) &* 0x94D0_49BB_1331_11EB
        let fingerprint = UInt16(truncatingIfNeeded: mixed >> 48)
        return (Int(truncatingIfNeeded: mixed) & mask, fingerprint == 0 ? 1 : fingerprint)
    }
}
