/// W-TinyLFU's clock for reuse intervals (``WindowTinyLFU``, rules 1 and 2): it counts
/// the accesses a cache's policy sees (hits, inserts, replacements) in ticks of a
/// twentieth of the budget in keys, so that an entry can carry its last access time in
/// one byte (``Entry/accessTime``, the ticks mod 256: about 12 budgets' worth of
/// accesses) and ``EvictionHistory`` in two bytes (ticks mod 2^16).
///
/// A stamp older than 256 ticks reads as younger than it is (by a multiple of 256):
/// - a victim's idle time then reads too short, and a candidate's latest access too
///   recent (its reuse interval too long), so rule 2 (b) rejects where it might have
///   admitted, and the duel of frequencies alone decides, as in plain W-TinyLFU;
/// - but an entry evicted after 256 ticks or more without an access goes into the
///   history as last accessed more recently than it was, so if it comes back its reuse
///   interval reads too short, and (b) may admit it where it should not. Only an entry
///   idle for more than about 12 budgets' worth of accesses is affected, which needs a
///   miss ratio below about 8% (a budget's worth of misses per 12 budgets of accesses)
///   for it to be evicted at all; the C simulator, which stamps the same way, measured
///   the hit ratios in docs/hit-ratio.md with this effect included.
/// The history's two-byte times wrap the same way after 65,536 ticks (about 3,300
/// budgets' worth of accesses) for a slot that no later eviction has overwritten.
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
    func time(ofStamp stamp: UInt8) -> UInt16 { UInt16(truncatingIfNeeded: ticks &- UInt64(idle(stamp))) }

    /// Rule 2's reuse test (b): a candidate whose latest access is stamped
    /// `candidateStamp`, and whose last access before it was evicted is
    /// `previousAccess` in the history (nil: not remembered), came back sooner than the
    /// victim whose latest access is stamped `victimStamp` has been idle, by more than
    /// a tick (the margin keeps a loop's keys, which come back exactly as late as the
    /// victims were idle, from displacing each other on rounding).
    @inline(__always)
    func cameBackSooner(candidateStamp: UInt8, previousAccess: UInt16?, victimStamp: UInt8) -> Bool {
        guard let previousAccess else { return false }
        let interval = Int(time(ofStamp: candidateStamp) &- previousAccess)
        return interval + 1 < idle(victimStamp)
    }

    /// Rule 2's whole admission test, (a) or (b), shared by the real cache and its
    /// shadows (``MiniCache``) so that the two cannot drift apart. The history is only
    /// read when the frequencies do not decide.
    @inline(__always)
    func admits(candidateFrequency: Int, victimFrequency: Int, candidateStamp: UInt8,
                previousAccess: @autoclosure () -> UInt16?, victimStamp: UInt8) -> Bool {
        candidateFrequency > victimFrequency
            || cameBackSooner(candidateStamp: candidateStamp, previousAccess: previousAccess(), victimStamp: victimStamp)
    }
}
