/// W-TinyLFU's clock for reuse intervals (``WindowTinyLFU``, rules 1 and 2): it counts
/// the accesses a cache's policy sees (hits, inserts, replacements) in ticks of a
/// twentieth of the budget in keys, so that an entry can carry its last access time in
/// one byte (``Entry/accessTime``, the ticks mod 256: about 12 budgets' worth of
/// accesses) and ``EvictionHistory`` in two bytes (ticks mod 2^16).
///
/// A stamp older than 256 ticks reads as younger than it is (by a multiple of 256).
/// Rule 2 only ever admits on a short reuse interval against a long idle time, so such
/// a misreading can only make it reject a candidate it would have admitted: the duel
/// of frequencies alone decides, as in plain W-TinyLFU.
struct AccessClock {
    /// Ticks per budget's worth of accesses.
    static let ticksPerBudget = 20

    /// Ticks since the cache was made.
    private(set) var ticks: UInt64 = 0
    /// Accesses per tick.
    let tickLength: Int
    private var untilTick: Int

    /// A clock for a cache of about `keys` keys.
    init(keys: Int) {
        tickLength = max(1, keys / Self.ticksPerBudget)
        untilTick = tickLength
    }

    /// Counts one access; returns the stamp to store in the accessed entry.
    @inline(__always)
    mutating func tick() -> UInt8 {
        untilTick -= 1
        if untilTick == 0 {
            ticks &+= 1
            untilTick = tickLength
        }
        return UInt8(truncatingIfNeeded: ticks)
    }

    /// Ticks since an access stamped `stamp` (0-255).
    @inline(__always)
    func idle(_ stamp: UInt8) -> Int { Int(UInt8(truncatingIfNeeded: ticks) &- stamp) }

    /// The time of an access stamped `stamp`, mod 2^16 (for ``EvictionHistory``).
    @inline(__always)
    func time(_ stamp: UInt8) -> UInt16 { UInt16(truncatingIfNeeded: ticks &- UInt64(idle(stamp))) }

    /// Rule 2's reuse test: a candidate last accessed at `candidate`, whose access
    /// before that (when it was last evicted) is `previous` in the history, came back
    /// sooner than the victim last accessed at `victim` has been idle, by more than a
    /// tick (the margin keeps a loop's keys, which come back exactly as late as the
    /// victims were idle, from displacing each other on rounding).
    @inline(__always)
    func cameBackSooner(candidate: UInt8, previous: UInt16?, victim: UInt8) -> Bool {
        guard let previous else { return false }
        let interval = Int(time(candidate) &- previous)
        return interval + 1 < idle(victim)
    }
}
