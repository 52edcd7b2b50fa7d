/// Chooses W-TinyLFU's window share by miniature simulation: a few small shadow
/// W-TinyLFU caches, one per candidate share, replay a hash-sampled part of the store's
/// accesses side by side; every period the real cache's window moves towards the share
/// of the shadow that hit most (Waldspurger, Saemundsson, Ahmad, Park, "Cache Modeling
/// and Optimization using Miniature Simulations", USENIX ATC 2017; the sampling is their
/// SHARDS: a key is in the sample when a hash of it falls below a threshold, so a
/// sampled key's every access is seen, and a shadow with the sampled share of the
/// budget behaves like the full cache).
///
/// Against Caffeine's hill climber (which compares one period's hit ratio with the
/// previous one's, so it must move one step at a time and cannot tell a workload change
/// from its own move), the shadows compare every candidate share on the same requests
/// at once.
///
/// One chooser serves a whole store (``ShardArray`` owns it; Caffeine likewise has one
/// climber per cache): the shards are hash partitions of the same traffic, so a shadow
/// with the sampled share of the store's budget models each of them, and the store
/// replays its sample once instead of once per shard (a shard's own chooser would need
/// the same sample rate of the shard's traffic, so S shards would replay S times as
/// many accesses for S equally good choices).
///
/// Rules, exactly:
/// 1. A key is sampled when `mix(hash) >> 40` (24 bits) is below `threshold`; the
///    sampling rate is the shadow's keys over the store's (``miniatureKeys(_:)``; 1 in
///    a store of up to 256 keys).
/// 2. Every access a shard's policy sees (a hit, an insert, a replacement) of a
///    sampled key is replayed in every shadow, after the shard's sketch has counted
///    it. Shadows follow the real cache's W-TinyLFU rules (window, admission by the
///    frequencies in the sketch of the shard that holds each key or by reuse interval
///    on a clock and a history of their own, probation and protected) with a fixed
///    window share each; deletions are not replayed (the stale shadow entry ages out).
/// 3. Each shadow counts its hits. After a period of ``periodFactor`` times as many
///    sampled accesses as a shadow holds keys, every shadow's score becomes
///    `score × decay + hits of the period`; the shadow with the highest score is chosen
///    (near-ties keep the current choice), and every shard's window moves towards its
///    share by at most ``maximumStep`` of the shard's budget (``WindowTinyLFU``, rule 4).
struct WindowChooser: ~Copyable {
    /// Window shares the shadows try, as fractions of the budget. Both ends matter: no
    /// window at all is best on loops, an all-window cache (LRU) on recency.
    static let shares: [Double] = [0, 0.01, 0.10, 0.30, 0.60, 0.99]
    /// Index in ``shares`` of the real cache's first one: a 1% window, as Caffeine
    /// starts.
    static let initialChoice = 1
    /// A shadow holds an eighth of the store's keys, but at least ``minimumMiniatureKeys``
    /// (all of them in a smaller store) and at most ``maximumMiniatureKeys``. A shadow
    /// key costs about 42 bytes (26 in its lists, 8 in its table, 8 in its history), so
    /// with an entry budget the six shadows of a store cost at most 32 bytes per key of
    /// budget from 2,048 keys up, 5.2 bytes at 100,000, and about 520 KB at most (2,049
    /// nodes a shadow). A byte budget's shadows have room for twice their estimated
    /// keys (see ``init(capacity:keys:)``): about twice that, 940 KB at most.
    static let minimumMiniatureKeys = 256
    static let maximumMiniatureKeys = 2048
    /// A period is this many shadow-fulls of sampled accesses: two, so that each
    /// choice rests on twice the samples, at the same speed (``maximumStep``) and
    /// memory (``decay``) per access as one-shadow-full periods of half the step and
    /// a decay of 0.9.
    static let periodFactor = 2
    /// Weight of the past in a shadow's score, per period (0.9 per shadow-full).
    static let decay = 0.81
    /// A shard's window moves at most this share of its budget per period towards the
    /// chosen share: a sudden large change costs more than the shadows (which never
    /// change) predict, because the entries it moves arrive in a list shaped for the
    /// other share (measured on arc-p3 at 200k with an earlier version of the rules: a
    /// jump from 99% to 30% lost 10 points where the same change in steps of 1/16 of the
    /// budget a shadow-full lost none). 1/8 a period of two shadow-fulls is the same pace.
    static let maximumStep = 0.125

    private var minis: [MiniCache] = []
    /// Sampled when `mix(hash) >> 40` is below this (0: nothing is sampled).
    let threshold: UInt64
    /// Sampled accesses per period.
    let period: Int
    private var accessesInPeriod = 0
    private var scores: [Double]
    private var hits: [Int]
    /// Index in ``shares`` of the chosen one (the shards' windows move towards it).
    private var choice = WindowChooser.initialChoice

    /// Keys a shadow holds for a store of `keys` keys.
    static func miniatureKeys(_ keys: Int) -> Int {
        min(keys, max(minimumMiniatureKeys, min(maximumMiniatureKeys, keys / 8)))
    }

    /// - Parameters:
    ///   - capacity: the store's budget in its unit (entries or bytes).
    ///   - keys: the budget in keys (for a byte budget, an estimate); 0 for an
    ///     unbounded store, which needs no window and samples nothing.
    init(capacity: Int, keys: Int) {
        scores = Array(repeating: 0, count: Self.shares.count)
        hits = Array(repeating: 0, count: Self.shares.count)
        guard keys > 0 else {
            threshold = 0
            period = .max
            return
        }
        let mini = Self.miniatureKeys(keys)
        let rate = Double(mini) / Double(keys)
        threshold = mini == keys ? 1 << 24 : UInt64((rate * Double(1 << 24)).rounded(.up))
        period = Self.periodFactor * mini
        let miniCapacity = mini == keys ? capacity : max(1, Int((rate * Double(capacity)).rounded()))
        // An entry budget is its own key count; a byte budget's key count is an estimate
        // (capacity / 64), so a shadow holds a varying number of entries: room for
        // twice the estimate, and eviction by count beyond that.
        let weighted = capacity != keys
        let maxNodes = weighted ? 2 * mini + 1 : miniCapacity + 1
        for share in Self.shares {
            minis.append(MiniCache(capacity: miniCapacity, keyBudget: mini, windowShare: share, maxNodes: maxNodes))
        }
    }

    /// Rule 1: whether a key with this hash is sampled by a chooser with this threshold.
    @inline(__always)
    static func samples(_ hash: UInt64, threshold: UInt64) -> Bool {
        (hash &* 0x9E37_79B9_7F4A_7C15) >> 40 < threshold
    }

    /// Rules 2 and 3: replays one access of a sampled key. At the end of a period,
    /// returns the window share the shards move towards (``WindowTinyLFU``, rule 4).
    mutating func record(_ hash: UInt64, weight: Int, frequency: Frequencies) -> Double? {
        for i in minis.indices where minis[i].access(hash, weight: weight, frequency: frequency) {
            hits[i] += 1
        }
        accessesInPeriod += 1
        guard accessesInPeriod >= period else { return nil }
        accessesInPeriod = 0
        for i in scores.indices {
            scores[i] = scores[i] * Self.decay + Double(hits[i])
            hits[i] = 0
        }
        // Near-ties keep the current choice.
        for i in scores.indices where scores[i] > scores[choice] + 0.5 { choice = i }
        return Self.shares[choice]
    }
}

extension WindowChooser {
    /// Where the shadows read a key's frequency: in the sketch of the shard that holds
    /// the key (every shard's sketch counts its own keys' accesses alike, so
    /// frequencies from two shards compare as from one).
    struct Frequencies: Sendable {
        /// Shard i's sketch.
        let sketches: [FrequencySketch.Locator]
        /// The store's shard rule (``ShardArray/index(_:shift:)``).
        let shardShift: UInt64

        func frequency(_ hash: UInt64) -> Int {
            sketches[ShardArray.index(hash, shift: shardShift)].frequency(hash)
        }
    }
}

/// One shadow W-TinyLFU cache of ``WindowChooser``: the same rules as the real one
/// (`PolicyLists+WindowTinyLFU.swift`) over key hashes, in flat arrays.
struct MiniCache {
    private struct List {
        var head: Int32 = -1
        var tail: Int32 = -1
        var weight = 0
    }
    private static let window: UInt8 = 1, probation: UInt8 = 2, protected: UInt8 = 3

    let capacity: Int
    let windowMax: Int
    let protectedMax: Int
    /// Rule 1's clock and rule 2's history, as the real cache's
    /// (``WindowTinyLFU/clock``, ``WindowTinyLFU/history``), on the shadow's scale.
    private var clock: AccessClock
    private var history: EvictionHistory
    private let maxNodes: Int
    private var keys: [UInt64]
    private var prev: [Int32]
    private var next: [Int32]
    private var list: [UInt8]
    /// Each node's latest access, as the real cache's ``Entry/accessTime``.
    private var stamps: [UInt8]
    private var weights: [Int32]
    private var free: [Int32]
    private var lists = [List(), List(), List(), List()]  // index 0 unused
    private var used = 0
    /// Open addressing, linear probing; node index or -1.
    private var table: [Int32]
    private let mask: Int

    /// - Parameters:
    ///   - capacity: the budget, in the real cache's unit, scaled down.
    ///   - keyBudget: the budget in keys, scaled down (the clock's and the history's
    ///     scale, as the real cache's).
    ///   - maxNodes: most entries the shadow can hold.
    init(capacity: Int, keyBudget: Int, windowShare: Double, maxNodes: Int) {
        self.capacity = capacity
        clock = AccessClock(keys: keyBudget)
        history = EvictionHistory(keys: keyBudget)
        windowMax = WindowTinyLFU.share(windowShare, of: capacity)
        protectedMax = PolicyLists.share(capacity - windowMax)
        self.maxNodes = maxNodes
        keys = Array(repeating: 0, count: maxNodes)
        prev = Array(repeating: -1, count: maxNodes)
        next = Array(repeating: -1, count: maxNodes)
        list = Array(repeating: 0, count: maxNodes)
        stamps = Array(repeating: 0, count: maxNodes)
        weights = Array(repeating: 0, count: maxNodes)
        free = (0..<Int32(maxNodes)).reversed()
        let size = ceilPowerOfTwo(maxNodes + maxNodes / 2)  // load ≤ 2/3
        table = Array(repeating: -1, count: size)
        mask = size - 1
    }

    private var total: Int { lists[1].weight + lists[2].weight + lists[3].weight }

    @inline(__always)
    private static func slot(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash ^ (hash >> 31)) &* 0xD6E8_FEB8_6659_FD93 >> 20)
    }

    private func find(_ hash: UInt64) -> (slot: Int, node: Int32) {
        var s = Self.slot(hash) & mask
        while true {
            let n = table[s]
            if n < 0 || keys[Int(n)] == hash { return (s, n) }
            s = (s + 1) & mask
        }
    }

    private mutating func unlink(_ n: Int32) {
        let l = Int(list[Int(n)])
        let p = prev[Int(n)], x = next[Int(n)]
        if p >= 0 { next[Int(p)] = x } else { lists[l].head = x }
        if x >= 0 { prev[Int(x)] = p } else { lists[l].tail = p }
        lists[l].weight -= Int(weights[Int(n)])
    }

    private mutating func pushHead(_ n: Int32, _ l: UInt8) {
        list[Int(n)] = l
        prev[Int(n)] = -1
        next[Int(n)] = lists[Int(l)].head
        if lists[Int(l)].head >= 0 { prev[Int(lists[Int(l)].head)] = n } else { lists[Int(l)].tail = n }
        lists[Int(l)].head = n
        lists[Int(l)].weight += Int(weights[Int(n)])
    }

    private mutating func move(_ n: Int32, to l: UInt8) {
        unlink(n)
        pushHead(n, l)
    }

    private mutating func evict(_ n: Int32) {
        history.remember(keys[Int(n)], lastAccess: clock.time(ofStamp: stamps[Int(n)]))
        unlink(n)
        // Backward-shift deletion from the table.
        var hole = find(keys[Int(n)]).slot
        var s = (hole + 1) & mask
        while table[s] >= 0 {
            let home = Self.slot(keys[Int(table[s])]) & mask
            if (s - home) & mask >= (s - hole) & mask {
                table[hole] = table[s]
                hole = s
            }
            s = (s + 1) & mask
        }
        table[hole] = -1
        free.append(n)
        used -= 1
    }

    /// Replays one access; returns whether it hit.
    mutating func access(_ hash: UInt64, weight: Int, frequency: WindowChooser.Frequencies) -> Bool {
        let now = clock.tick()
        let (s, found) = find(hash)
        if found >= 0 {
            stamps[Int(found)] = now
            switch list[Int(found)] {
            case Self.probation:
                move(found, to: Self.protected)
                while lists[3].weight > protectedMax, lists[3].tail >= 0 {
                    move(lists[3].tail, to: Self.probation)
                }
            default:
                move(found, to: list[Int(found)])
            }
            return true
        }
        var slot = s
        if used == maxNodes {
            // Out of nodes (a byte budget of small entries): make room first.
            if let v = victim(keeping: -1, frequency: frequency) { evict(v) }
            slot = find(hash).slot
        }
        let n = free.removeLast()
        used += 1
        keys[Int(n)] = hash
        stamps[Int(n)] = now
        weights[Int(n)] = Int32(clamping: weight)
        table[slot] = n
        pushHead(n, Self.window)
        while lists[1].weight > windowMax, total <= capacity, lists[1].tail >= 0 {
            move(lists[1].tail, to: Self.probation)
        }
        while total > capacity, let v = victim(keeping: n, frequency: frequency) {
            evict(v)
        }
        return false
    }

    private mutating func victim(keeping keep: Int32, frequency: WindowChooser.Frequencies) -> Int32? {
        while lists[1].weight > windowMax, lists[1].tail >= 0, lists[1].tail != keep {
            let candidate = lists[1].tail
            let v = lists[2].tail >= 0 ? lists[2].tail : lists[3].tail
            guard v >= 0 else {
                move(candidate, to: Self.probation)
                continue
            }
            let c = keys[Int(candidate)]
            if clock.admits(candidateFrequency: frequency.frequency(c), victimFrequency: frequency.frequency(keys[Int(v)]),
                            candidateStamp: stamps[Int(candidate)], previousAccess: history.lastAccess(c),
                            victimStamp: stamps[Int(v)]) {
                move(candidate, to: Self.probation)
                return v
            }
            return candidate
        }
        if lists[2].tail >= 0 { return lists[2].tail }
        if lists[3].tail >= 0 { return lists[3].tail }
        if lists[1].tail >= 0, lists[1].tail != keep { return lists[1].tail }
        return nil
    }
}
