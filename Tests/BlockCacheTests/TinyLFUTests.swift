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

    @Test func theEpochCountsHalvingsAndWrapsAfter255() {
        var sketch = FrequencySketch(capacity: 8)
        #expect(sketch.epoch == 1)
        var halvings = 0, i = 0
        while halvings < 256 {
            if sketch.increment(StableHash.hash64("k\(i)")) == .halved {
                halvings += 1
                #expect(sketch.epoch == UInt8(halvings % 255 + 1))
            }
            i += 1
        }
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

    @Test(arguments: [false, true])
    func aRejectedCandidateGetsASecondChanceOnlyInThatMode(secondChance: Bool) throws {
        let s = try store(10)   // window 1 entry, main 9
        s.shards.withShard(0) { $0.fixWindowForTesting(1, secondChance: secondChance) }
        for _ in 0..<4 { for i in 0..<9 { if try s.get("m\(i)") == nil { try s.set("m\(i)", "v") } } }
        try s.set("w", "v")
        try s.set("a", "v")     // "w" loses the duel: evicted, and remembered as rejected
        #expect(try s.get("w") == nil)
        try s.set("w", "v")     // "a" loses too
        try s.set("b", "v")     // "w" is a candidate again and still loses the duel...
        // ...but in second-chance mode it is admitted over a frequent victim.
        #expect(try s.get("w") != nil || !secondChance)
        #expect(try s.get("w") == nil || secondChance)
        var main = 0
        for i in 0..<9 where try s.get("m\(i)") != nil { main += 1 }
        #expect(main == (secondChance ? 8 : 9))
        #expect(s.checkInvariants() == nil)
    }

    @Test func secondChanceMakesTheMainCacheOneLRU() throws {
        var lists = PolicyLists(policy: .wtinylfu, maxEntries: 100, maxBytes: .max)
        lists.tinyLFU.secondChance = true
        lists.resizeWindow(to: 10)
        #expect(lists.tinyLFU.protectedMax == 0)
        var entries: [Entry] = []
        for i in 0..<30 {
            let k = Array("k\(i)".utf8)
            let e = k.withUnsafeBytes { kb in Entry.make(key: kb, value: UnsafeRawBufferPointer(start: nil, count: 0), expiry: 0)! }
            lists.insert(e, hash: StableHash.hash64(k), charge: ShardState.charge(of: e))
            entries.append(e)
        }
        #expect(lists.window.count == 10 && lists.probation.count == 20)
        // A hit on probation moves the entry to probation's head, not to protected.
        lists.access(entries[0], hash: StableHash.hash64(Array("k0".utf8)))
        #expect(lists.protected.count == 0 && lists.probation.head == entries[0])
        // Back to the duel alone: protected may hold 80% of the main cache again.
        lists.tinyLFU.secondChance = false
        lists.resizeWindow(to: 10)
        #expect(lists.tinyLFU.protectedMax == 72)
        lists.drain { $0.deallocate() }
    }

    /// An entry remembers the epoch in which its key saturated, and the marks are
    /// cleared when the epoch counter wraps (or a mark 255 halvings old would skip
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
        // Other accesses until the epoch comes round to 1 again: 255 halvings. The hot
        // key is not accessed meanwhile, so its counters decay to 0, and its mark must go.
        // (Seven keys cannot all saturate within one epoch of 80 increments, so the
        // accesses keep counting.)
        var wrapped = false, i = 0
        while !wrapped && i < 1_000_000 {
            let before = lists.tinyLFU.sketch.epoch
            let (e, h) = entries[1 + i % 7]
            lists.access(e, hash: h)
            wrapped = before == 255 && lists.tinyLFU.sketch.epoch == 1
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

    /// Window share and admission mode after replaying `keys` (get, then set on a miss)
    /// through one shard.
    func finalChoice(_ keys: some Sequence<Int>, capacity: UInt64) throws -> (window: Int, secondChance: Bool) {
        let s = try store(capacity)
        for k in keys where try s.get(bytes("\(k)")) == nil { try s.set(bytes("\(k)"), []) }
        return s.shards.withShard(0) { ($0.windowShare, $0.secondChanceForTesting) }
    }

    @Test func theWindowGrowsForRecency() throws {
        // Recency: each key is read again soon after it first appears, then never:
        // only a large window (close to LRU) keeps it long enough.
        let recency = (0..<200_000).map { i in i % 2 == 0 ? i / 2 : i / 2 - 300 }
        let grown = try finalChoice(recency, capacity: 1000).window
        #expect(grown >= 300, "window \(grown) of 1000 after a recency workload")
    }

    @Test func theWindowStaysSmallForLoops() throws {
        // A loop over more keys than fit: LRU gets nothing, frequency nearly everything.
        let loop = (0..<200_000).map { $0 % 1200 }
        let (small, secondChance) = try finalChoice(loop, capacity: 1000)
        #expect(small < 100, "window \(small) of 1000 after a loop")
        // A second chance would admit every loop key that lost a duel, churning the
        // main cache: the duel alone is chosen.
        #expect(!secondChance)
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

    @Test(arguments: [0.0, 0.01, 0.10, 0.60, 0.99], [false, true])
    func aShadowHitsExactlyWhenTheRealCacheDoes(share: Double, secondChance: Bool) throws {
        // Rule 2: a shadow follows the real cache's rules. With rate 1 and the real
        // window and admission mode fixed at the shadow's, both see the same sketch and
        // must agree on every request.
        let capacity = 300
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: UInt64(capacity), shards: 1, sweepIntervalMilliseconds: -1))
        let window = WindowTinyLFU.share(share, of: capacity)
        s.shards.withShard(0) { $0.fixWindowForTesting(window, secondChance: secondChance) }
        let locator = try #require(s.shards.withShard(0) { $0.sketchLocator })
        let frequencies = WindowChooser.Frequencies(sketches: [locator], shardShift: s.shards.shift)
        let configuration = WindowChooser.Configuration(windowShare: share, secondChance: secondChance)
        var mini = MiniCache(capacity: capacity, keyBudget: capacity, configuration: configuration, maxNodes: capacity + 1)
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
        // Rule 1: a shard of 100,000 keys samples 1,024 of them (about 1%).
        let chooser = WindowChooser(capacity: 100_000, keys: 100_000)
        #expect(WindowChooser.miniatureKeys(100_000) == 1024)
        var rng = SplitMix(seed: 5)
        let n = 400_000
        var sampled = 0
        for _ in 0..<n where WindowChooser.samples(rng.next(), threshold: chooser.threshold) { sampled += 1 }
        let rate = Double(sampled) / Double(n)
        #expect(abs(rate - 0.01024) < 0.001, "sampled \(rate)")
        // Small shards are not sampled down; large ones hold 1/8 up to 1,024 keys.
        #expect(WindowChooser.miniatureKeys(200) == 200)
        #expect(WindowChooser.miniatureKeys(1000) == 256)
        #expect(WindowChooser.miniatureKeys(4000) == 500)
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
        // Rate 1, a period of 200 sampled accesses.
        for _ in 0..<199 {
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
        // window walks there in steps of 1/16 of the budget, one per period.
        let capacity = 1000
        let s = try Store(StoreConfiguration(policy: .wtinylfu, maxEntries: UInt64(capacity), shards: 1, sweepIntervalMilliseconds: -1))
        // A period is 256 sampled accesses at a rate of 256/1000: about 1,000 requests.
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
