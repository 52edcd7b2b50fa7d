import Testing
@testable import BlockCache

@Suite struct FrequencySketchTests {
    @Test func countsWithoutUndercountingAndSaturatesAt15() {
        var sketch = FrequencySketch(capacity: 1024)
        let h = StableHash.hash64("hot")
        #expect(sketch.frequency(h) == 0)
        for i in 1...20 {
            sketch.increment(h)
            #expect(sketch.frequency(h) == min(i, 15))
        }
    }

    @Test func overcountIsSmallAtCapacity() {
        // Fill with `capacity` distinct keys seen 3 times each, then ask about
        // `capacity` keys never seen: their estimates are pure collision error.
        let capacity = 4096
        var sketch = FrequencySketch(capacity: capacity)
        for round in 0..<3 { for i in 0..<capacity { sketch.increment(StableHash.hash64("seen\(i)")) }; _ = round }
        var total = 0, worst = 0
        for i in 0..<capacity {
            let f = sketch.frequency(StableHash.hash64("unseen\(i)"))
            total += f
            worst = max(worst, f)
        }
        let mean = Double(total) / Double(capacity)
        #expect(mean < 0.5, "mean overcount \(mean)")
        // Seen keys are never undercounted.
        for i in 0..<capacity { #expect(sketch.frequency(StableHash.hash64("seen\(i)")) >= 3) }
    }

    @Test func agingHalvesCounts() {
        let capacity = 64
        var sketch = FrequencySketch(capacity: capacity)
        let hot = StableHash.hash64("hot")
        for _ in 0..<15 { sketch.increment(hot) }
        #expect(sketch.frequency(hot) == 15)
        // Enough other increments to reach the sample size (10 x capacity) and age.
        var i = 0
        while sketch.size > 0 && i < sketch.sampleSize { sketch.increment(StableHash.hash64("k\(i)")); i += 1 }
        #expect(sketch.frequency(hot) <= 7)
        #expect(sketch.frequency(hot) >= 6)
    }

    /// The hit path skips a saturated key's increments (see `PolicyLists.count`): that
    /// is only right if `.saturated` comes exactly when all four counters reach 15, and
    /// incrementing such a key then changes nothing until the next halving.
    @Test func saturationIsReportedExactlyAndLaterIncrementsChangeNothing() {
        var sketch = FrequencySketch(capacity: 1024, seed: 7)
        let h = StableHash.hash64("hot")
        for i in 1...14 {
            #expect(sketch.increment(h) == .counted)
            #expect(sketch.frequency(h) == i)
        }
        #expect(sketch.increment(h) == .saturated)
        #expect(sketch.frequency(h) == 15)
        let size = sketch.size
        let others = (0..<200).map { sketch.frequency(StableHash.hash64("other\($0)")) }
        for _ in 0..<100 { #expect(sketch.increment(h) == .saturated) }
        #expect(sketch.size == size)
        #expect((0..<200).map { sketch.frequency(StableHash.hash64("other\($0)")) } == others)
    }

    @Test func theEpochCountsHalvingsAndWrapsAfter31() {
        var sketch = FrequencySketch(capacity: 8)
        #expect(sketch.epoch == 1)
        var halvings = 0, i = 0
        while halvings < 32 {
            if sketch.increment(StableHash.hash64("k\(i)")) == .halved {
                halvings += 1
                #expect(sketch.epoch == UInt8(halvings % Int(FrequencySketch.epochs) + 1))
            }
            i += 1
        }
        #expect(FrequencySketch.epochs == 31)
        #expect(sketch.epoch == 2)
    }

    /// A key's four counters are in one 64-byte block: the table must start on a cache
    /// line, or most blocks straddle two lines (and the hit path's prefetch of the
    /// block's first line misses the rest).
    @Test(arguments: [1, 100, 4096, 125_000])
    func blocksAreCacheLines(capacity: Int) {
        let sketch = FrequencySketch(capacity: capacity)
        #expect(sketch.locator.table % 64 == 0)
    }
}

extension Store {
    /// Whether the store holds `key`, without counting or touching the policy.
    func holds(_ key: String) -> Bool {
        bytes(key).withUnsafeBytes { peekValueAndTTL(forKey: $0) != nil }
    }
}

@Suite struct WindowTinyLFUTests {
    func store(_ n: UInt64) throws -> Store {
        try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: n, shards: 1, sweepIntervalMilliseconds: -1))
    }

    @Test func frequentEntriesSurviveAScan() throws {
        let s = try store(100)
        for _ in 0..<5 { for i in 0..<50 { if try s.get("hot\(i)") == nil { try s.set("hot\(i)", "v") } } }
        for i in 0..<10_000 { try s.set("scan\(i)", "x") }   // one-time keys, 100x the cache
        var kept = 0
        for i in 0..<50 where try s.get("hot\(i)") != nil { kept += 1 }
        #expect(kept >= 45, "kept \(kept) of 50 hot keys")
        #expect(s.stats().entries <= 100)
        #expect(s.checkInvariants() == nil)
    }

    @Test func aOneHitCandidateDoesNotDisplaceAFrequentVictim() throws {
        let s = try store(10)   // window 1 entry, main 9
        for _ in 0..<4 { for i in 0..<9 { if try s.get("m\(i)") == nil { try s.set("m\(i)", "v") } } }
        try s.set("w", "v")        // fills the window
        try s.set("new", "v")      // pushes "w" out of the window: it loses to a frequent victim
        #expect(try s.get("w") == nil)
        for i in 0..<9 { #expect(try s.get("m\(i)") != nil) }
    }

    @Test func aFrequentCandidateIsAdmitted() throws {
        let s = try store(10)
        for i in 0..<9 { try s.set("m\(i)", "v") }   // seen once each
        // "f" is seen often (each get+set pair counts), then pushed out of the window.
        for _ in 0..<5 { try s.set("f", "v"); _ = try s.get("f") }
        try s.set("other", "v")
        #expect(try s.get("f") != nil)
        #expect(s.stats().entries == 10)
    }

    /// Rule 2 (b): a candidate that loses the frequency duel is still admitted when it
    /// came back sooner than the victim has been idle, and is not when it came back
    /// later.
    @Test(arguments: [true, false])
    func aCandidateThatCameBackSoonerThanTheVictimWasIdleIsAdmitted(soon: Bool) throws {
        // 200 keys: a tick is 10 accesses. Window 1 entry, main 199.
        let s = try store(200)
        s.shards.withShard(0) { $0.fixWindowForTesting(1) }
        func access(_ k: String) throws { if try s.get(k) == nil { try s.set(k, "v") } }
        // The main cache: m0 (probation's tail) ... m198, each seen 3 times.
        for i in 0..<199 { for _ in 0..<3 { try access("m\(i)") } }
        try access("w")         // fills the window
        try access("x")         // "w" leaves it and loses the duel with m0: evicted
        #expect(!s.holds("w"))
        if soon {
            // 50 accesses to other keys; m0 has been idle for about 650 accesses.
            for i in 1...50 { try access("m\(i)") }
        } else {
            // Five rounds over the whole main cache: every entry is read again, so the
            // victim has been idle for at most about 200 accesses, "w" away for 1,000.
            for _ in 0..<5 { for i in 0..<199 { try access("m\(i)") } }
        }
        try access("w")         // "w" comes back: a miss, into the window ("x" leaves it
        try access("y")         // and loses); then "w" leaves and duels the victim, seen
                                // more often than "w" (twice)
        #expect(s.holds("w") == soon)
        var main = 0
        for i in 0..<199 where s.holds("m\(i)") { main += 1 }
        #expect(main == (soon ? 198 : 199))
        #expect(!s.holds("m0") || !soon)
        #expect(s.checkInvariants() == nil)
    }

    /// An entry remembers the epoch in which its key saturated, and the marks are
    /// cleared when the epoch counter wraps (or a mark 31 halvings old would skip
    /// counting a key whose counters were halved since).
    @Test func saturatedMarksAreSetAndClearedWhenTheEpochWraps() throws {
        var lists = PolicyLists(policy: .wtinylfu, maxEntries: 8, maxBytes: .max)
        var entries: [(Entry, UInt64)] = []
        for i in 0..<8 {
            let k = Array("k\(i)".utf8)
            let e = k.withUnsafeBytes { kb in Entry.make(key: kb, value: UnsafeRawBufferPointer(start: nil, count: 0), expiry: 0)! }
            lists.insert(e, hash: StableHash.hash64(k), charge: ShardState.charge(of: e))
            entries.append((e, StableHash.hash64(k)))
        }
        let (hot, hotHash) = entries[0]
        #expect(hot.sketchEpoch == 0)
        for _ in 0..<15 { lists.access(hot, hash: hotHash) }
        #expect(hot.sketchEpoch == 1 && lists.tinyLFU.sketch.frequency(hotHash) == 15)
        // Other accesses until the epoch comes round to 1 again: 31 halvings. The hot
        // key is not accessed meanwhile, so its counters decay to 0, and its mark must go.
        // (Seven keys cannot all saturate within one epoch of 80 increments, so the
        // accesses keep counting.)
        var wrapped = false, i = 0
        while !wrapped && i < 1_000_000 {
            let before = lists.tinyLFU.sketch.epoch
            let (e, h) = entries[1 + i % 7]
            lists.access(e, hash: h)
            wrapped = before == FrequencySketch.epochs && lists.tinyLFU.sketch.epoch == 1
            i += 1
        }
        #expect(wrapped)
        #expect(lists.tinyLFU.sketch.epoch == 1)
        #expect(hot.sketchEpoch == 0)
        lists.drain { $0.deallocate() }
    }

    @Test func windowResizesMoveEntries() throws {
        var lists = PolicyLists(policy: .wtinylfu, maxEntries: 100, maxBytes: .max)
        #expect(lists.tinyLFU.windowMax == 1)
        lists.resizeWindow(to: 40)
        #expect(lists.tinyLFU.protectedMax == 48)   // 80% of the 60 left for main
        for i in 0..<100 {
            let k = Array("k\(i)".utf8)
            let e = k.withUnsafeBytes { kb in Entry.make(key: kb, value: UnsafeRawBufferPointer(start: nil, count: 0), expiry: 0)! }
            lists.insert(e, hash: StableHash.hash64(k), charge: ShardState.charge(of: e))
        }
        #expect(lists.window.count == 40 && lists.probation.count == 60)
        // Shrinking spills the window's LRU entries to probation at once.
        lists.resizeWindow(to: 5)
        #expect(lists.window.count == 5 && lists.probation.count == 95)
        #expect(lists.probation.head.map { String(decoding: $0.key, as: UTF8.self) } == "k94")
        // Growing takes nothing from the main cache: the window fills with new entries.
        lists.resizeWindow(to: 60)
        #expect(lists.window.count == 5 && lists.tinyLFU.protectedMax == 32)
        lists.drain { $0.deallocate() }
    }

    /// Window share after replaying `keys` (get, then set on a miss) through one shard.
    func finalWindow(_ keys: some Sequence<Int>, capacity: UInt64) throws -> Int {
        let s = try store(capacity)
        for k in keys where try s.get(bytes("\(k)")) == nil { try s.set(bytes("\(k)"), []) }
        return s.shards.withShard(0) { $0.windowShare }
    }

    @Test func theWindowGrowsForRecency() throws {
        // Recency: each key is read again soon after it first appears, then never:
        // only a large window (close to LRU) keeps it long enough.
        let recency = (0..<200_000).map { i in i % 2 == 0 ? i / 2 : i / 2 - 300 }
        let grown = try finalWindow(recency, capacity: 1000)
        #expect(grown >= 300, "window \(grown) of 1000 after a recency workload")
    }

    @Test func theWindowStaysSmallForLoops() throws {
        // A loop over more keys than fit: LRU gets nothing, frequency nearly everything.
        let loop = (0..<200_000).map { $0 % 1200 }
        let small = try finalWindow(loop, capacity: 1000)
        #expect(small < 100, "window \(small) of 1000 after a loop")
    }

    /// Rule 2 (b) on a loop larger than the cache: every key comes back exactly as late
    /// as the victims have been idle, so nothing displaces the stable part of the loop
    /// that the main cache keeps. (1,225 keys, not a multiple of the 50-access tick, so
    /// that the rounding of intervals and idle times differs from key to key: without
    /// the one-tick margin, loop keys displace each other.)
    @Test func aLoopKeepsAStablePartOfItself() throws {
        let s = try store(1000)
        s.shards.withShard(0) { $0.fixWindowForTesting(10) }
        var hits = 0
        for round in 0..<40 {
            for k in 0..<1225 {
                if try s.get(bytes("\(k)")) != nil {
                    if round >= 20 { hits += 1 }
                } else {
                    try s.set(bytes("\(k)"), [])
                }
            }
        }
        // A stable part of 990 keys in the main cache gives 990 hits a round; LRU, or
        // admitting every key that comes back, gives about none.
        #expect(hits >= 20 * 950, "\(hits) hits in 20 rounds of 1,225")
    }

    @Test func sizeAwareWithAByteBudget() throws {
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxBytes: 64 * 1024, shards: 1, sweepIntervalMilliseconds: -1))
        var rng = SplitMix(seed: 9)
        for i in 0..<20_000 {
            let k = "k\(rng.next() % 2000)"
            if try s.get(k) == nil { try s.set(bytes(k), [UInt8](repeating: 1, count: Int(rng.next() % 1500))) }
            if i % 1000 == 0 { #expect(s.stats().bytes <= 64 * 1024) }
        }
        #expect(s.checkInvariants() == nil)
    }
}

@Suite struct WindowChooserTests {
    /// A skewed mix: a hot set, a warm set and one-time keys.
    func workload(_ n: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix(seed: seed)
        return (0..<n).map { i in
            switch rng.next() % 10 {
            case 0..<4: return Int(rng.next() % 100)
            case 4..<8: return 1000 + Int(rng.next() % 2000)
            default: return 1_000_000 + i
            }
        }
    }

    @Test(arguments: [0.0, 0.01, 0.10, 0.30, 0.60, 0.99])
    func aShadowHitsExactlyWhenTheRealCacheDoes(share: Double) throws {
        // Rule 2: a shadow follows the real cache's rules. With rate 1 and the real
        // window fixed at the shadow's, both see the same sketch, keep the same clock
        // and history, and must agree on every request.
        let capacity = 300
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: UInt64(capacity), shards: 1, sweepIntervalMilliseconds: -1))
        let window = WindowTinyLFU.share(share, of: capacity)
        s.shards.withShard(0) { $0.fixWindowForTesting(window) }
        let locator = try #require(s.shards.withShard(0) { $0.sketchLocator })
        let frequencies = WindowChooser.Frequencies(sketches: [locator], shardShift: s.shards.shift)
        var mini = MiniCache(capacity: capacity, keyBudget: capacity, windowShare: share, maxNodes: capacity + 1)
        #expect(mini.windowMax == window)
        var disagreements = 0, hits = 0
        for k in workload(40_000, seed: 11) {
            let key = bytes("\(k)")
            let hit = try s.get(key) != nil
            if !hit { try s.set(key, []) }
            if mini.access(StableHash.hash64(key), weight: 1, frequency: frequencies) != hit { disagreements += 1 }
            if hit { hits += 1 }
        }
        #expect(disagreements == 0, "\(disagreements) of 40,000 requests")
        #expect(hits > 10_000)
        #expect(s.checkInvariants() == nil)
    }

    @Test func samplesTheShadowsShareOfKeys() {
        // Rule 1: a shard of 100,000 keys samples 2,048 of them (about 2%).
        let chooser = WindowChooser(capacity: 100_000, keys: 100_000)
        #expect(WindowChooser.miniatureKeys(100_000) == 2048)
        var rng = SplitMix(seed: 5)
        let n = 400_000
        var sampled = 0
        for _ in 0..<n where WindowChooser.samples(rng.next(), threshold: chooser.threshold) { sampled += 1 }
        let rate = Double(sampled) / Double(n)
        #expect(abs(rate - 0.02048) < 0.001, "sampled \(rate)")
        // Small shards are not sampled down; large ones hold 1/8 up to 2,048 keys.
        #expect(WindowChooser.miniatureKeys(200) == 200)
        #expect(WindowChooser.miniatureKeys(1000) == 256)
        #expect(WindowChooser.miniatureKeys(4000) == 500)
        #expect(WindowChooser.miniatureKeys(1_000_000) == 2048)
        let all = WindowChooser(capacity: 200, keys: 200)
        #expect((0..<1000).allSatisfy { _ in WindowChooser.samples(rng.next(), threshold: all.threshold) })
        let none = WindowChooser(capacity: .max, keys: 0)
        #expect(!(0..<1000).contains { _ in WindowChooser.samples(rng.next(), threshold: none.threshold) })
    }

    /// `SharedWindowChooser`'s rule 4: a period's choice comes from the replay that
    /// ends it, and from no other.
    @Test func aSharedChooserReturnsAChoiceOncePerPeriod() {
        let sketch = FrequencySketch(capacity: 200, seed: 3)
        let shared = SharedWindowChooser(WindowChooser(capacity: 200, keys: 200),
                                         frequency: .init(sketches: [sketch.locator], shardShift: 64))
        var rng = SplitMix(seed: 8)
        // Rate 1, a period of two shadow-fulls: 400 sampled accesses.
        #expect(WindowChooser.periodFactor == 2)
        for _ in 0..<399 {
            let h = rng.next()
            #expect(WindowChooser.samples(h, threshold: shared.threshold))
            #expect(shared.replay(.init(hash: h, weight: 1)) == nil)
        }
        #expect(shared.replay(.init(hash: rng.next(), weight: 1)) != nil)
        #expect(shared.replay(.init(hash: rng.next(), weight: 1)) == nil)
        withExtendedLifetime(sketch) {}
    }

    /// One chooser serves the whole store: it samples at the store's rate (not a
    /// shard's), and every shard takes each period's choice at the same moment, so
    /// shards of equal budgets always have equal windows (with a chooser per shard,
    /// periods end at different moments in different shards).
    @Test func oneChooserServesEveryShard() throws {
        let capacity = 4000
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: UInt64(capacity), shards: 4, sweepIntervalMilliseconds: -1))
        let chooser = try #require(s.shards.chooser)
        #expect(chooser.threshold == WindowChooser(capacity: capacity, keys: capacity).threshold)
        #expect(chooser.threshold != WindowChooser(capacity: capacity / 4, keys: capacity / 4).threshold)
        // Recency traffic (each key read again 1,200 new keys later) grows the window.
        var looks: [[Int]] = []
        for i in 0..<80_000 {
            let k = i % 2 == 0 ? i / 2 : i / 2 - 1200
            if try s.get(bytes("\(k)")) == nil { try s.set(bytes("\(k)"), []) }
            if i % 100 == 0 { looks.append((0..<4).map { j in s.shards.withShard(j) { $0.windowShare } }) }
        }
        for look in looks { #expect(Set(look).count == 1, "\(look)") }
        #expect(looks.last![0] > looks.first![0] + 100, "\(looks.map { $0[0] })")
        #expect(s.checkInvariants() == nil)
    }

    @Test func theWindowMovesAtMostAStepPerPeriod() throws {
        // Rule 3: a recency workload makes the largest share win at once, but the
        // window walks there in steps of 1/8 of the budget, one per period.
        let capacity = 1000
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: UInt64(capacity), shards: 1, sweepIntervalMilliseconds: -1))
        // A period is 512 sampled accesses at a rate of 256/1000: about 2,000 requests.
        // Looking every 100 requests, no two looks may be more than a step apart.
        var shares: [Int] = []
        for i in 0..<30_000 {
            let k = i % 2 == 0 ? i / 2 : i / 2 - 300
            if try s.get(bytes("\(k)")) == nil { try s.set(bytes("\(k)"), []) }
            if i % 100 == 0 { shares.append(s.shards.withShard(0) { $0.windowShare }) }
        }
        let step = Int(WindowChooser.maximumStep * Double(capacity))
        for (a, b) in zip(shares, shares.dropFirst()) { #expect(abs(b - a) <= step, "\(shares)") }
        #expect(shares.last! > shares.first!, "\(shares)")
    }
}

@Suite struct WindowTinyLFUReadYourWrites {
    @Test func aSetIsReadableAtOnceEvenWithAnEmptyWindow() throws {
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: 50, shards: 1, sweepIntervalMilliseconds: -1))
        s.shards.withShard(0) { $0.fixWindowForTesting(0) }
        for _ in 0..<5 { for i in 0..<50 where try s.get("hot\(i)") == nil { try s.set("hot\(i)", "v") } }
        for i in 0..<200 {
            try s.set("new\(i)", "v")
            #expect(try s.get("new\(i)") != nil, "new\(i) not readable right after its set")
        }
    }
}

@Suite struct AccessClockTests {
    @Test func ticksEveryTwentiethOfTheBudget() {
        var clock = AccessClock(keys: 200)   // 10 accesses a tick
        #expect(clock.tickLength == 10)
        let stamps = (0..<30).map { _ in clock.tick() }
        #expect(stamps == [UInt8](repeating: 0, count: 9) + [UInt8](repeating: 1, count: 10)
                + [UInt8](repeating: 2, count: 10) + [3])
        #expect(AccessClock(keys: 5).tickLength == 1)
    }

    @Test func stampsAreReadModulo256() {
        var clock = AccessClock(keys: 20)   // a tick an access
        for _ in 0..<300 { _ = clock.tick() }
        #expect(clock.ticks == 300)
        let stamp = UInt8(truncatingIfNeeded: 290)
        #expect(clock.idle(stamp) == 10)
        #expect(clock.time(ofStamp: stamp) == 290)
        // A stamp 260 ticks old reads as 4 ticks old (see AccessClock on what that does).
        #expect(clock.idle(UInt8(truncatingIfNeeded: 40)) == 4)
    }

    /// Rule 2 (b) exactly: the reuse interval plus one tick must be below the victim's
    /// idle time, and a key the history does not know is never admitted by it.
    @Test func cameBackSoonerNeedsAMarginOfATick() {
        var clock = AccessClock(keys: 20)
        for _ in 0..<100 { _ = clock.tick() }
        // The candidate was last accessed at 95, and at 80 before it was evicted.
        #expect(clock.cameBackSooner(candidateStamp: 95, previousAccess: 80, victimStamp: 100 - 17))
        #expect(!clock.cameBackSooner(candidateStamp: 95, previousAccess: 80, victimStamp: 100 - 16))
        #expect(!clock.cameBackSooner(candidateStamp: 95, previousAccess: nil, victimStamp: 0))
        // (a) or (b): the frequencies decide first, and the history is read only if not.
        #expect(clock.admits(candidateFrequency: 3, victimFrequency: 2, candidateStamp: 95,
                             previousAccess: nil, victimStamp: 0))
        var read = false
        // (Outside #expect, which evaluates its operands' parts itself.)
        let admitted = clock.admits(candidateFrequency: 3, victimFrequency: 2, candidateStamp: 95,
                                    previousAccess: { read = true; return nil }(), victimStamp: 0)
        #expect(admitted && !read)
        #expect(!clock.admits(candidateFrequency: 2, victimFrequency: 2, candidateStamp: 95,
                              previousAccess: 80, victimStamp: 100 - 16))
    }
}

@Suite struct EvictionHistoryTests {
    @Test func remembersWhenRecentlyEvictedKeysWereLastAccessed() {
        var history = EvictionHistory(keys: 1000)   // 2,048 slots
        for i in 0..<1000 { history.remember(StableHash.hash64("k\(i)"), lastAccess: UInt16(i)) }
        var found = 0
        for i in 0..<1000 {
            guard let t = history.lastAccess(StableHash.hash64("k\(i)")) else { continue }
            #expect(t == UInt16(i))
            found += 1
        }
        // A key is lost only when a later one takes its slot: about 79% survive.
        #expect(found > 700, "\(found) of 1,000 remembered")
        // The newest time wins.
        history.remember(StableHash.hash64("k999"), lastAccess: 5000)
        #expect(history.lastAccess(StableHash.hash64("k999")) == 5000)
        // Keys never remembered are almost never mistaken for one (16-bit fingerprints).
        var mistaken = 0
        for i in 0..<100_000 where history.lastAccess(StableHash.hash64("never\(i)")) != nil { mistaken += 1 }
        #expect(mistaken <= 10, "\(mistaken) of 100,000")
    }
}

@Suite struct EntryHeaderTests {
    /// The flags byte holds the expiry bit, the list and the sketch epoch; the access
    /// time has the next byte. Setting one must leave the others alone.
    @Test func flagsEpochAndAccessTimeAreIndependent() throws {
        let key = bytes("k")
        let e = try #require(key.withUnsafeBytes { Entry.make(key: $0, value: UnsafeRawBufferPointer(start: nil, count: 0), expiry: 12_345) })
        e.list = .protected
        e.sketchEpoch = FrequencySketch.epochs
        e.accessTime = 255
        #expect(e.hasExpiry && e.expiry == 12_345 && e.list == .protected)
        #expect(e.sketchEpoch == 31 && e.accessTime == 255)
        e.list = .window
        #expect(e.sketchEpoch == 31 && e.hasExpiry)
        e.sketchEpoch = 0
        #expect(e.list == .window && e.hasExpiry && e.accessTime == 255)
        #expect(e.keyLength == 1 && e.valueLength == 0)
        e.deallocate()
    }
}
