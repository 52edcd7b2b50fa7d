/// W-TinyLFU with an adaptive window (Einziger, Friedman, Manes, "TinyLFU: A Highly
/// Efficient Cache Admission Policy", 2017; Caffeine adapts the window with a hill
/// climber, Einziger et al., "Adaptive Software Cache Management", Middleware 2018;
/// here shadow caches choose it, see ``WindowChooser``).
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
/// 4. The window's share is chosen by ``WindowChooser``: shadow caches with a range of
///    fixed window shares replay a sample of the same accesses, and every period the
///    window moves towards the share of the one that hit most (by at most 1/16 of the
///    budget). Recency-heavy traffic grows the window towards plain LRU,
///    frequency-heavy traffic shrinks it.
///
/// Weights: with an entry budget every entry weighs 1; with only a byte budget an
/// entry weighs its charge, so admission and eviction are by size.
struct WindowTinyLFU: ~Copyable {
    enum Unit { case entries, bytes, unbounded }

    let unit: Unit
    /// The budget, in `unit`.
    let capacity: Int
    var windowMax: Int
    var protectedMax: Int
    var sketch: FrequencySketch
    var chooser: WindowChooser

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
        chooser = WindowChooser(capacity: capacity, keys: unit == .unbounded ? 0 : keys)
        if unit == .unbounded {
            windowMax = .max
            protectedMax = .max
        } else {
            windowMax = Self.share(WindowChooser.shares[WindowChooser.initialChoice], of: capacity)
            protectedMax = PolicyLists.share(capacity - windowMax)
        }
    }

    /// `fraction` of `capacity`, at least 1 unless `fraction` is 0.
    static func share(_ fraction: Double, of capacity: Int) -> Int {
        fraction == 0 ? 0 : max(1, Int((fraction * Double(capacity)).rounded()))
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
        if tinyLFU.chooser.samples(hash) { replayInShadows(hash, weight: tinyLFU.unit == .entries ? 1 : charge) }
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
        if tinyLFU.chooser.samples(hash) { replayInShadows(hash, weight: ShardState.weight(of: e, unit: tinyLFU.unit)) }
    }

    /// Rule 4: a sampled access, replayed in the shadow caches; at the end of a period
    /// the window may take a new share.
    private mutating func replayInShadows(_ hash: UInt64, weight: Int) {
        if let next = tinyLFU.chooser.record(hash, weight: weight, frequency: tinyLFU.sketch.locator, window: tinyLFU.windowMax) {
            resizeWindow(to: next)
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

    /// Sets the window's share (clamped to the budget). A smaller window spills its LRU
    /// entries to probation's head at once; a larger one grows as new entries arrive
    /// (the main cache evicts meanwhile), so that the main cache's coldest entries do
    /// not land at the window's head.
    mutating func resizeWindow(to newMax: Int) {
        let windowMax = min(max(0, newMax), tinyLFU.capacity)
        tinyLFU.windowMax = windowMax
        tinyLFU.protectedMax = PolicyLists.share(tinyLFU.capacity - windowMax)
        while weight(window) > windowMax, let t = window.tail {
            move(t, from: .window, to: .probation)
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
