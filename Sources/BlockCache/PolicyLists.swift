/// The policy state of one shard: its lists and the rules that move entries between
/// them. Always used under the shard's lock.
///
/// LRU uses `probation` as its only list.
///
/// LRU2 rules, exactly:
/// 1. A new entry enters the head of `probation` -- unless its key was evicted from
///    `probation` recently (``GhostFilter``: within about the last one to two budgets'
///    worth of such evictions). Then this is the key's second access: it enters the
///    head of `protected` (and rule 3 applies). Without this, a shard whose protected
///    level filled up in one phase of traffic would keep those entries forever, since
///    nothing new could be accessed twice before probation evicted it.
/// 2. An access (a hit, or a set that replaces the value) to an entry on `probation`
///    moves it to the head of `protected`; an access to an entry on `protected`
///    moves it to the head of `protected`.
/// 3. `protected` holds at most ``protectedShare`` of the shard's entry budget and of
///    its byte budget; while it holds more, its tail is demoted to the head of
///    `probation` (it gets one more chance there before it can be evicted).
/// 4. Eviction takes the tail of `probation`; only when `probation` is empty (or
///    holds nothing but the entry being inserted) does it take the tail of `protected`.
/// An unbounded shard never demotes or evicts.
///
/// W-TinyLFU adds the `window` list and a frequency sketch; its rules are in
/// `PolicyLists+WindowTinyLFU.swift`.
struct PolicyLists: ~Copyable {
    enum List { case window, probation, protected }

    /// Share of the budget the protected level may hold: 80%, as in Caffeine's
    /// segmented LRU and memcached's segmented LRU defaults.
    static let protectedShare = (numerator: 4, denominator: 5)

    let policy: EvictionPolicy
    var window = EntryList()
    var probation = EntryList()
    var protected = EntryList()
    /// LRU2's protected limits, in entries and bytes (Int.max: none).
    let protectedMaxEntries: Int
    let protectedMaxBytes: Int
    /// W-TinyLFU's state (for the other policies: unbounded and unused).
    var tinyLFU: WindowTinyLFU
    /// LRU2's memory of keys recently evicted from probation (bounded shards only).
    var ghost: GhostFilter
    let remembersEvictions: Bool

    init(policy: EvictionPolicy, maxEntries: Int, maxBytes: Int) {
        self.policy = policy
        protectedMaxEntries = Self.share(maxEntries)
        protectedMaxBytes = Self.share(maxBytes)
        remembersEvictions = policy == .lru2 && (maxEntries != .max || maxBytes != .max)
        // Sized in keys: the entry budget, or the byte budget at about 64 bytes an entry.
        ghost = GhostFilter(capacity: remembersEvictions ? (maxEntries != .max ? maxEntries : max(1, maxBytes / 64)) : 1)
        tinyLFU = policy == .wtinylfu
            ? WindowTinyLFU(maxEntries: maxEntries, maxBytes: maxBytes)
            : WindowTinyLFU(maxEntries: .max, maxBytes: .max)
    }

    /// 80% of a limit, without overflow; Int.max stays unlimited.
    static func share(_ limit: Int) -> Int {
        let (n, d) = protectedShare
        return limit == .max ? .max : limit / d * n + limit % d * n / d
    }

    var count: Int { window.count + probation.count + protected.count }
    var bytes: Int { window.bytes + probation.bytes + protected.bytes }

    /// Rule 1: a new entry starts on probation (LRU: at the front of its one list;
    /// W-TinyLFU: in the window).
    @inline(__always)
    mutating func insert(_ e: Entry, hash: UInt64, charge: Int) {
        if policy == .wtinylfu {
            insertIntoWindow(e, hash: hash, charge: charge)
        } else if remembersEvictions && ghost.contains(hash) {
            push(e, onto: .protected, charge: charge)
            demoteOverflow(maxEntries: protectedMaxEntries, maxBytes: protectedMaxBytes)
        } else {
            push(e, onto: .probation, charge: charge)
        }
    }

    /// Called for an entry about to be evicted (not deleted or expired).
    @inline(__always)
    mutating func willEvict(_ e: Entry, hash: UInt64) {
        if remembersEvictions && e.list == .probation { ghost.insert(hash) }
        if policy == .wtinylfu { rememberEviction(e, hash: hash) }
    }

    /// Rule 2 (LRU: move to front).
    @inline(__always)
    mutating func access(_ e: Entry, hash: UInt64) {
        switch policy {
        case .lru:
            probation.moveToHead(e)
        case .lru2:
            if e.list == .protected {
                protected.moveToHead(e)
            } else {
                promote(e)
                demoteOverflow(maxEntries: protectedMaxEntries, maxBytes: protectedMaxBytes)
            }
        case .wtinylfu:
            accessTinyLFU(e, hash: hash)
        }
    }

    /// Puts `fresh` where `old` was (on the same list, at its head) and counts the
    /// replacement as an access (rule 2: LRU2 promotes from probation).
    mutating func replace(_ old: Entry, oldCharge: Int, with fresh: Entry, hash: UInt64, charge: Int) {
        let list = old.list
        remove(old, charge: oldCharge)
        push(fresh, onto: list, charge: charge)
        access(fresh, hash: hash)
    }

    /// Links `e` at the head of `list` and records which list holds it.
    @inline(__always)
    mutating func push(_ e: Entry, onto list: List, charge: Int) {
        e.list = list
        switch list {
        case .window: window.pushHead(e, charge: charge)
        case .probation: probation.pushHead(e, charge: charge)
        case .protected: protected.pushHead(e, charge: charge)
        }
    }

    /// Moves an entry from probation to the head of protected. Its charge is computed
    /// here, the only access path that needs it (moves within one list do not).
    @inline(__always)
    mutating func promote(_ e: Entry) {
        let charge = ShardState.charge(of: e)
        probation.remove(e, charge: charge)
        push(e, onto: .protected, charge: charge)
    }

    /// Rule 3: while protected is over its limits, its tail goes back to probation.
    @inline(__always)
    mutating func demoteOverflow(maxEntries: Int, maxBytes: Int) {
        while protected.count > maxEntries || protected.bytes > maxBytes, let t = protected.tail {
            let charge = ShardState.charge(of: t)
            protected.remove(t, charge: charge)
            push(t, onto: .probation, charge: charge)
        }
    }

    /// Unlinks an entry that leaves the shard.
    @inline(__always)
    mutating func remove(_ e: Entry, charge: Int) {
        switch e.list {
        case .window: window.remove(e, charge: charge)
        case .probation: probation.remove(e, charge: charge)
        case .protected: protected.remove(e, charge: charge)
        }
    }

    /// The entry to evict next while the shard is over budget, never `keep`; nil when
    /// there is none. (Rule 4 for LRU and LRU2; W-TinyLFU's admission duel.)
    mutating func victim(keeping keep: Entry?) -> Entry? {
        if policy == .wtinylfu { return victimTinyLFU(keeping: keep) }
        if let t = probation.tail, t != keep { return t }
        if let t = probation.tail, let p = t.prev { return p }  // t is `keep`
        if let t = protected.tail, t != keep { return t }
        return nil
    }

    /// Calls `body` for every entry; `body` may free it. The lists are left empty.
    mutating func drain(_ body: (Entry) -> Void) {
        window.forEach(body)
        probation.forEach(body)
        protected.forEach(body)
        window.reset()
        probation.reset()
        protected.reset()
    }

    /// Calls `body` for every entry without changing anything.
    func forEach(_ body: (Entry) -> Void) {
        window.forEach(body)
        probation.forEach(body)
        protected.forEach(body)
    }
}
