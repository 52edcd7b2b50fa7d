/// W-TinyLFU with an adaptive window (Einziger, Friedman, Manes, "TinyLFU: A Highly
/// Efficient Cache Admission Policy", 2017; Caffeine adapts the window with a hill
/// climber, Einziger et al., "Adaptive Software Cache Management", Middleware 2018;
/// here shadow caches choose it, see ``WindowChooser``), whose admission also lets in
/// a key that came back sooner than the victim has been idle (rule 2, after LIRS).
///
/// Rules, exactly:
/// 1. A new entry enters the head of the `window` (an LRU of ``WindowTinyLFU/windowMax``,
///    1% of the budget at first). Every insert and every hit counts once in the
///    frequency sketch, and stamps the entry with the time on the shard's
///    ``AccessClock`` (which those same accesses advance).
/// 2. While the window is over its share and the shard has room, the window's tail
///    moves to the head of `probation`. When the shard is full, the window's tail is a
///    *candidate* and the tail of `probation` (or of `protected` if probation is
///    empty) the *victim*. The candidate is admitted (to probation's head) and the
///    victim evicted if
///    (a) the sketch has seen the candidate more often than the victim, or
///    (b) the candidate's reuse interval is shorter than the victim's idle time: the
///        candidate was evicted before, ``WindowTinyLFU/history`` remembers when it
///        was last accessed then, and the time from that access to the candidate's
///        latest one is more than a tick shorter than the time since the victim's last
///        access (``AccessClock/cameBackSooner(candidateStamp:previousAccess:victimStamp:)``).
///    Otherwise the candidate is evicted (ties go to the victim). Every evicted entry's
///    last access time goes into the history.
///    Test (b) is LIRS's: a block whose inter-reference recency is below the recency
///    of the oldest block of the low-IRR set joins that set (Jiang and Zhang,
///    SIGMETRICS 2002). It admits what the sketch, which forgets, cannot vouch for:
///    keys re-read at intervals longer than the sketch remembers but shorter than
///    the main cache keeps its victims (arc-p3 at 100k entries, in a C simulator of
///    these rules: 42.4% with a fixed 1% window, against 37.3% with test (a) alone).
///    On a loop larger than the cache
///    every key comes back exactly as late as the victims have been idle, so (b) never
///    holds and the main cache keeps a stable part of the loop, as with (a) alone.
///    (Defence against hash flooding: each sketch mixes a random seed into the key
///    hashes, so nobody can aim keys at chosen counters to make a victim look hot.
///    Caffeine instead admits a losing warm candidate with probability 1/128, which
///    costs 1-3 points of hit ratio on loops.)
/// 3. The main cache is LRU2: a hit on probation moves the entry to protected, which
///    holds at most 80% of the main share; its overflow is demoted to probation.
///    A hit in the window moves the entry to the window's head.
/// 4. The window's share is chosen by the store's ``WindowChooser``: shadow caches
///    with a range of fixed window shares replay a sample of the same accesses (after
///    the shard's lock is released, see ``SharedWindowChooser``), and after every
///    period every shard's window moves towards the share of the one that hit most
///    (by at most ``WindowChooser/maximumStep`` of its budget). Recency-heavy traffic
///    grows the window towards plain LRU, frequency-heavy traffic shrinks it.
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
    /// The budget in keys (for a byte budget, an estimate at 64 bytes a key); 0 when
    /// unbounded.
    let keys: Int
    /// The store's chooser's sampling threshold (rule 4), set by ``ShardArray``; 0 (the
    /// default) samples nothing.
    var samplingThreshold: UInt64 = 0
    /// Whether the window is fixed (tests): rule 4's choices are ignored.
    var choiceFixed = false
    /// A sampled access left for `ShardArray.withShard` to replay once the shard is
    /// unlocked (``SharedWindowChooser``); nil when there is none. A second sampled
    /// access within one locked section replaces the first (the first is dropped).
    var pendingSample: SharedWindowChooser.Sample?
    /// Rule 1's clock.
    var clock: AccessClock
    /// Rule 2's memory of evicted keys' last access times.
    var history: EvictionHistory

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
        keys = unit == .entries ? capacity : unit == .bytes ? max(1, capacity / 64) : 0
        var rng = SystemRandomNumberGenerator()
        sketch = FrequencySketch(capacity: max(1, keys), seed: unit == .unbounded ? 0 : rng.next())
        // An unbounded shard never evicts: it needs neither a clock nor a history.
        clock = AccessClock(keys: max(1, keys))
        history = EvictionHistory(keys: unit == .unbounded ? 1 : keys)
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
        // An unbounded shard never evicts, so it needs no frequencies, times (nor a
        // window share).
        if tinyLFU.unit != .unbounded { count(e, hash: hash) }
        push(e, onto: .window, charge: charge)
        while weight(window) > tinyLFU.windowMax, !mainIsFull, let t = window.tail {
            move(t, from: .window, to: .probation)
        }
        if WindowChooser.samples(hash, threshold: tinyLFU.samplingThreshold) {
            sampled(hash, weight: tinyLFU.unit == .entries ? 1 : charge)
        }
    }

    /// Rule 3, and rule 1's count and time of the hit.
    mutating func accessTinyLFU(_ e: Entry, hash: UInt64) {
        if tinyLFU.unit != .unbounded { count(e, hash: hash) }
        switch e.list {
        case .window:
            window.moveToHead(e)
        case .probation:
            promote(e)
            demoteProtectedOverflow()
        case .protected:
            protected.moveToHead(e)
        }
        if WindowChooser.samples(hash, threshold: tinyLFU.samplingThreshold) {
            sampled(hash, weight: ShardState.weight(of: e, unit: tinyLFU.unit))
        }
    }

    /// Rule 1 for an access of `e`: stamps it with the clock's time, and counts it in
    /// the sketch. Once the sketch reports all of the key's counters saturated, the
    /// entry remembers the sketch's epoch and later accesses skip the sketch until the
    /// counters are next halved: incrementing saturated counters changes nothing, so
    /// this only saves the work (on skewed traffic, most hits are to such keys).
    @inline(__always)
    private mutating func count(_ e: Entry, hash: UInt64) {
        e.accessTime = tinyLFU.clock.tick()
        let epoch = tinyLFU.sketch.epoch
        if e.sketchEpoch == epoch { return }
        switch tinyLFU.sketch.increment(hash) {
        case .counted:
            break
        case .saturated:
            e.sketchEpoch = epoch
        case .halved:
            // The epoch counter wrapped: an entry marked `epochs` halvings ago must not
            // pass for saturated now.
            if tinyLFU.sketch.epoch == 1 { forEach { $0.sketchEpoch = 0 } }
        }
    }

    /// Rule 4: a sampled access, left for replay in the shadows once the shard is
    /// unlocked (``SharedWindowChooser``).
    private mutating func sampled(_ hash: UInt64, weight: Int) {
        tinyLFU.pendingSample = SharedWindowChooser.Sample(hash: hash, weight: weight)
    }

    /// Rule 4 at the end of a period: the window moves towards the chosen share by at
    /// most ``WindowChooser/maximumStep`` of the budget. (Only bounded shards have a
    /// chooser, so only they get here.)
    mutating func applyChoice(_ share: Double) {
        guard !tinyLFU.choiceFixed else { return }
        let window = tinyLFU.windowMax
        let target = WindowTinyLFU.share(share, of: tinyLFU.capacity)
        let step = max(1, Int(WindowChooser.maximumStep * Double(tinyLFU.capacity)))
        let next = window + max(-step, min(step, target - window))
        if next != window { resizeWindow(to: next) }
    }

    /// Rule 2 when the shard is over budget: the admission test.
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

    /// Rule 2's last sentence: an entry about to be evicted leaves its last access time
    /// in the history. (Only bounded shards evict, so only they get here.)
    @inline(__always)
    mutating func rememberEviction(_ e: Entry, hash: UInt64) {
        tinyLFU.history.remember(hash, lastAccess: tinyLFU.clock.time(ofStamp: e.accessTime))
    }

    /// Sets the window's share (clamped to the budget) and protected's limit (a
    /// smaller limit demotes protected's tail at once). A smaller window spills its LRU
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

    /// Rule 2's tests (a) and (b).
    private func admit(_ candidate: Entry, over victim: Entry) -> Bool {
        let candidateHash = StableHash.hash64(candidate.key)
        return tinyLFU.clock.admits(candidateFrequency: tinyLFU.sketch.frequency(candidateHash),
                                    victimFrequency: tinyLFU.sketch.frequency(StableHash.hash64(victim.key)),
                                    candidateStamp: candidate.accessTime,
                                    previousAccess: tinyLFU.history.lastAccess(candidateHash),
                                    victimStamp: victim.accessTime)
    }

    private mutating func move(_ e: Entry, from: List, to: List) {
        let charge = ShardState.charge(of: e)
        remove(e, charge: charge)
        push(e, onto: to, charge: charge)
    }
}
