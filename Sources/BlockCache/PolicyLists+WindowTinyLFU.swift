/// W-TinyLFU with an adaptive window (Einziger, Friedman, Manes, "TinyLFU: A Highly
/// Efficient Cache Admission Policy", 2017; the adaptive window is Caffeine's hill
/// climber, described in Einziger et al., "Adaptive Software Cache Management",
/// Middleware 2018).
///
/// Rules, exactly:
/// 1. A new entry enters the head of the `window` (an LRU of ``WindowTinyLFU/windowMax``,
///    1% of the budget at first). Every insert and every hit counts once in the
///    frequency sketch.
/// 2. While the window is over its share and the shard has room, the window's tail
///    moves to the head of `probation`. When the shard is full, the window's tail is a
///    *candidate* and the tail of `probation` (or of `protected` if probation is
///    empty) the *victim*: the candidate is admitted (to probation's head) and the
///    victim evicted if the sketch has seen the candidate more often; otherwise the
///    candidate is evicted. Ties go to the victim. (Defence against hash flooding:
///    each sketch mixes a random seed into the key hashes, so nobody can aim keys at
///    chosen counters to make a victim look hot. Caffeine instead admits a losing warm
///    candidate with probability 1/128, which costs 1-3 points of hit ratio on loops.)
/// 3. The main cache is LRU2: a hit on probation moves the entry to protected, which
///    holds at most 80% of the main share; its overflow is demoted to probation.
///    A hit in the window moves the entry to the window's head.
/// 4. Every ``WindowTinyLFU/samplePeriod`` lookups (the budget in keys, at least
///    5,000) the hill climber compares the hit
///    ratio with the previous period's: if it did not get worse, it moves the window
///    size another step in the same direction, otherwise it reverses; steps start at
///    6.25% of the budget, shrink by 2% a period, and restart when the hit ratio
///    jumps by 5 points (a change of workload). Recency-heavy traffic grows the window
///    towards plain LRU, frequency-heavy traffic shrinks it.
///
/// Weights: with an entry budget every entry weighs 1; with only a byte budget an
/// entry weighs its charge, so admission and eviction are by size.
struct WindowTinyLFU: ~Copyable {
    enum Unit { case entries, bytes, unbounded }

    /// Initial window: 1% of the budget, as Caffeine.
    static let initialWindowPercent = 1
    /// The climber's first step, and its step after a restart: 6.25% of the budget.
    static let stepFraction = 0.0625
    /// Each period the step shrinks by 2%, so the window settles.
    static let stepDecay = 0.98
    /// A hit-ratio change this large restarts the climber with a full step.
    static let restartThreshold = 0.05
    /// The climber decides once per cache-full of lookups (Caffeine waits for ten,
    /// the sketch's aging period, which on a trace a few times the cache's size means
    /// it hardly ever moves), but never on fewer than this many: the hit ratio of
    /// 5,000 lookups has a standard error under 0.71 points, far below the restart
    /// threshold. Measured on the traces of docs/hit-ratio.md: 13 of 34 points below
    /// target with ten cache-fulls, 8-10 with one.
    static let minimumSamplePeriod = 5_000

    let unit: Unit
    /// The budget, in `unit`.
    let capacity: Int
    var windowMax: Int
    var protectedMax: Int
    var sketch: FrequencySketch

    /// Lookups per climbing period.
    let samplePeriod: Int
    var hitsInSample = 0
    var missesInSample = 0
    var previousHitRate = 0.0
    var stepSize: Double

    init(maxEntries: Int, maxBytes: Int) {
        if maxEntries != .max {
            unit = .entries
            capacity = maxEntries
        } else if maxBytes != .max {
            unit = .bytes
            capacity = maxBytes
        } else {
            unit = .unbounded
            capacity = .max
        }
        // The sketch is sized in keys: an entry budget is one; a byte budget is
        // turned into keys assuming about 64 bytes an entry.
        let keys = unit == .entries ? capacity : unit == .bytes ? max(1, capacity / 64) : 1
        var rng = SystemRandomNumberGenerator()
        sketch = FrequencySketch(capacity: keys, seed: unit == .unbounded ? 0 : rng.next())
        samplePeriod = max(Self.minimumSamplePeriod, keys)
        if unit == .unbounded {
            windowMax = .max
            protectedMax = .max
            stepSize = 0
        } else {
            windowMax = max(1, capacity / 100 * Self.initialWindowPercent + capacity % 100 * Self.initialWindowPercent / 100)
            protectedMax = PolicyLists.share(capacity - windowMax)
            stepSize = -Self.stepFraction * Double(capacity)
        }
    }
}

extension PolicyLists {
    @inline(__always)
    private func weight(_ list: borrowing EntryList) -> Int {
        tinyLFU.unit == .entries ? list.count : list.bytes
    }

    @inline(__always)
    private var mainIsFull: Bool {
        tinyLFU.unit != .unbounded && weight(window) + weight(probation) + weight(protected) > tinyLFU.capacity
    }

    /// Rules 1 and 2 (the part that needs no eviction).
    mutating func insertIntoWindow(_ e: Entry, hash: UInt64, charge: Int) {
        // An unbounded shard never evicts, so it needs no frequencies (nor a window share).
        if tinyLFU.unit != .unbounded { tinyLFU.sketch.increment(hash) }
        push(e, onto: .window, charge: charge)
        while weight(window) > tinyLFU.windowMax, !mainIsFull, let t = window.tail {
            move(t, from: .window, to: .probation)
        }
    }

    /// Rule 3, and the sketch's count of the hit.
    mutating func accessTinyLFU(_ e: Entry, hash: UInt64) {
        if tinyLFU.unit != .unbounded { tinyLFU.sketch.increment(hash) }
        switch e.list {
        case .window:
            window.moveToHead(e)
        case .probation:
            promote(e)
            demoteProtectedOverflow()
        case .protected:
            protected.moveToHead(e)
        }
    }

    /// Rule 2 when the shard is over budget: the admission duel.
    mutating func victimTinyLFU(keeping keep: Entry?) -> Entry? {
        // The entry being inserted is never its own candidate: a set that succeeded can
        // be read back at once, whatever the window's size.
        while weight(window) > tinyLFU.windowMax, let candidate = window.tail, candidate != keep {
            guard let victim = probation.tail ?? protected.tail else {
                move(candidate, from: .window, to: .probation)  // the main cache is empty
                continue
            }
            if admit(candidate, over: victim) {
                move(candidate, from: .window, to: .probation)
                return victim
            }
            return candidate
        }
        // The window is within its share: evict from the main cache, probation first.
        if let t = probation.tail { return t }
        if let t = protected.tail { return t }
        if let t = window.tail, t != keep { return t }
        return nil
    }

    /// Rule 4: counts a lookup, and adapts the window at the end of a period.
    @inline(__always)
    mutating func recordLookup(hit: Bool) {
        if hit { tinyLFU.hitsInSample += 1 } else { tinyLFU.missesInSample += 1 }
        if tinyLFU.hitsInSample + tinyLFU.missesInSample >= tinyLFU.samplePeriod, tinyLFU.unit != .unbounded {
            climb()
        }
    }

    private mutating func climb() {
        let requests = tinyLFU.hitsInSample + tinyLFU.missesInSample
        let hitRate = Double(tinyLFU.hitsInSample) / Double(requests)
        let change = hitRate - tinyLFU.previousHitRate
        let amount = change >= 0 ? tinyLFU.stepSize : -tinyLFU.stepSize
        let capacity = Double(tinyLFU.capacity)
        tinyLFU.stepSize = abs(change) >= WindowTinyLFU.restartThreshold
            ? WindowTinyLFU.stepFraction * capacity * (amount >= 0 ? 1 : -1)
            : WindowTinyLFU.stepDecay * amount
        tinyLFU.previousHitRate = hitRate
        tinyLFU.hitsInSample = 0
        tinyLFU.missesInSample = 0
        resizeWindow(to: tinyLFU.windowMax + Int(amount.rounded()))
    }

    /// Sets the window's share (clamped to the budget) and moves entries to match:
    /// a smaller window spills its LRU entries to probation; a larger one takes
    /// probation's LRU entries.
    mutating func resizeWindow(to newMax: Int) {
        let windowMax = min(max(0, newMax), tinyLFU.capacity)
        tinyLFU.windowMax = windowMax
        tinyLFU.protectedMax = PolicyLists.share(tinyLFU.capacity - windowMax)
        while weight(window) > windowMax, let t = window.tail {
            move(t, from: .window, to: .probation)
        }
        while let t = probation.tail, weight(window) + ShardState.weight(of: t, unit: tinyLFU.unit) <= windowMax {
            move(t, from: .probation, to: .window)
        }
        demoteProtectedOverflow()
    }

    private mutating func demoteProtectedOverflow() {
        let limit = tinyLFU.protectedMax
        if tinyLFU.unit == .entries {
            demoteOverflow(maxEntries: limit, maxBytes: .max)
        } else {
            demoteOverflow(maxEntries: .max, maxBytes: limit)
        }
    }

    private mutating func admit(_ candidate: Entry, over victim: Entry) -> Bool {
        let candidateFrequency = tinyLFU.sketch.frequency(StableHash.hash64(candidate.key))
        let victimFrequency = tinyLFU.sketch.frequency(StableHash.hash64(victim.key))
        return candidateFrequency > victimFrequency
    }

    private mutating func move(_ e: Entry, from: List, to: List) {
        let charge = ShardState.charge(of: e)
        remove(e, charge: charge)
        push(e, onto: to, charge: charge)
    }
}
