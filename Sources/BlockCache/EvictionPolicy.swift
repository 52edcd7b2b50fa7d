/// How a store chooses what to evict when it is over budget.
public enum EvictionPolicy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Least recently used: one list; every access moves the entry to the front;
    /// eviction takes the back.
    case lru
    /// Two-level LRU (segmented LRU), scan resistant. See ``PolicyLists`` for the rules.
    case lru2

    /// The policy a store gets when none is named.
    public static let `default`: EvictionPolicy = .lru2

    /// The policy with this name ("lru", "lru2"), case-insensitive.
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }

    public var description: String { rawValue }
}

/// The policy state of one shard: its lists and the rules that move entries between them.
///
/// LRU uses `probation` as its only list.
///
/// LRU2 rules, exactly:
/// 1. A new entry enters the head of `probation`.
/// 2. An access (a hit, or a set that replaces the value) to an entry on `probation`
///    moves it to the head of `protected`; an access to an entry on `protected`
///    moves it to the head of `protected`.
/// 3. `protected` holds at most ``protectedShare`` of the shard's entry budget and of
///    its byte budget; while it holds more, its tail is demoted to the head of
///    `probation` (it gets one more chance there before it can be evicted).
/// 4. Eviction takes the tail of `probation`; only when `probation` is empty (or
///    holds nothing but the entry being inserted) does it take the tail of `protected`.
/// An unbounded shard never demotes or evicts.
struct PolicyLists {
    /// Share of the budget the protected level may hold: 80%, as in Caffeine's
    /// segmented LRU and memcached's segmented LRU defaults.
    static let protectedShare = (numerator: 4, denominator: 5)

    let policy: EvictionPolicy
    var probation = EntryList()
    var protected = EntryList()
    let protectedMaxEntries: Int
    let protectedMaxBytes: Int

    init(policy: EvictionPolicy, maxEntries: Int, maxBytes: Int) {
        self.policy = policy
        func share(_ limit: Int) -> Int {
            limit == .max ? .max : limit / Self.protectedShare.denominator * Self.protectedShare.numerator
                + limit % Self.protectedShare.denominator * Self.protectedShare.numerator / Self.protectedShare.denominator
        }
        protectedMaxEntries = share(maxEntries)
        protectedMaxBytes = share(maxBytes)
    }

    var count: Int { probation.count + protected.count }
    var bytes: Int { probation.bytes + protected.bytes }

    /// Rule 1: a new entry starts on probation (LRU: at the front of its one list).
    @inline(__always)
    mutating func insert(_ e: Entry, charge: Int) {
        probation.pushHead(e, charge: charge)
    }

    /// Rule 2 (LRU: move to front).
    @inline(__always)
    mutating func access(_ e: Entry, charge: Int) {
        switch policy {
        case .lru:
            probation.moveToHead(e)
        case .lru2:
            if e.isProtected {
                protected.moveToHead(e)
            } else {
                probation.remove(e, charge: charge)
                e.isProtected = true
                protected.pushHead(e, charge: charge)
                demoteOverflow()
            }
        }
    }

    /// Rule 3.
    @inline(__always)
    private mutating func demoteOverflow() {
        while protected.count > protectedMaxEntries || protected.bytes > protectedMaxBytes,
              let t = protected.tail
        {
            let charge = ShardState.charge(of: t)
            protected.remove(t, charge: charge)
            t.isProtected = false
            probation.pushHead(t, charge: charge)
        }
    }

    /// Unlinks an entry that leaves the shard.
    @inline(__always)
    mutating func remove(_ e: Entry, charge: Int) {
        if e.isProtected { protected.remove(e, charge: charge) } else { probation.remove(e, charge: charge) }
    }

    /// Rule 4: the entry to evict next, never `keep`; nil when there is none.
    mutating func victim(keeping keep: Entry?) -> Entry? {
        if let t = probation.tail, t != keep { return t }
        if let t = probation.tail, let p = t.prev { return p }  // t is `keep`
        if let t = protected.tail, t != keep { return t }
        return nil
    }

    /// Calls `body` for every entry; `body` may free it. The lists are left empty.
    mutating func drain(_ body: (Entry) -> Void) {
        probation.forEach(body)
        protected.forEach(body)
        probation.reset()
        protected.reset()
    }
}
