import CBlockCacheAlloc

/// An approximate, aging count of how often each key was seen: the "TinyLFU" part of
/// W-TinyLFU. A count-min sketch of 4-bit counters, four per key, all four in one
/// 64-byte block so that a lookup touches one cache line; when the number of
/// increments reaches ten times the capacity, every counter is halved, so the sketch
/// forgets the past and tracks the recent frequency.
///
/// Sources: G. Einziger, R. Friedman, B. Manes, "TinyLFU: A Highly Efficient Cache
/// Admission Policy", ACM Transactions on Storage 13(4), 2017; the block layout,
/// spreading functions and reset rule follow Caffeine's `FrequencySketch.java`
/// (B. Manes, Apache License 2.0), re-derived here, not copied.
///
/// Error bounds: a counter never undercounts (every increment reaches all four
/// counters of the key, saturating at 15); it overcounts only when all four of the
/// key's counters are shared with other keys. With `capacity` keys in a table of
/// `nextPowerOfTwo(capacity)` 64-bit words (16 counters each), the expected
/// overcount is a small fraction of one (tested in `FrequencySketchTests`).
///
/// Threads: written only under its shard's lock; ``Locator/frequency(_:)`` may read it
/// from other threads at the same time (shadow replays, see ``SharedWindowChooser``),
/// so every table word is read and written with relaxed atomics, and a concurrent read
/// sees each counter either before or after an increment or a halving.
struct FrequencySketch: ~Copyable {
    static let maxCount: UInt64 = 15
    /// Halve every counter after this many increments per unit of capacity.
    static let sampleFactor = 10
    private static let resetMask: UInt64 = 0x7777_7777_7777_7777
    private static let oneMask: UInt64 = 0x1111_1111_1111_1111

    private let table: UnsafeMutablePointer<UInt64>
    private let tableSize: Int
    /// Which 8-word (64-byte) block a key's counters live in.
    private let blockMask: UInt32
    /// Increments until the next halving.
    let sampleSize: Int
    private(set) var size = 0
    /// Mixed into every key's hash, so that nobody who knows the store's (public,
    /// stable) key hash can aim keys at chosen counters.
    private let seed: UInt64

    /// A sketch for about `capacity` distinct keys; `seed` should be random.
    init(capacity: Int, seed: UInt64 = 0) {
        self.seed = seed
        let c = max(8, min(capacity, 1 << 26))
        tableSize = ceilPowerOfTwo(c)
        // Aligned to 64 bytes, so that a block is one cache line (the allocator's
        // default alignment would split most blocks across two).
        table = UnsafeMutableRawPointer.allocate(byteCount: tableSize * 8, alignment: 64)
            .bindMemory(to: UInt64.self, capacity: tableSize)
        table.initialize(repeating: 0, count: tableSize)
        blockMask = UInt32(tableSize >> 3) - 1
        sampleSize = Self.sampleFactor * max(1, min(capacity, Int(Int32.max) / Self.sampleFactor))
    }

    deinit { table.deallocate() }

    /// The estimated number of times `hash` was seen since the counters were last
    /// halved (0...15).
    func frequency(_ hash: UInt64) -> Int { locator.frequency(hash) }

    /// Where a key's counters live, computable without the shard's lock (the table never
    /// moves), so the store can prefetch them while it takes the lock.
    struct Locator: Sendable {
        let table: UInt
        let blockMask: UInt32
        let seed: UInt64

        @inline(__always)
        func address(_ hash: UInt64) -> UnsafeRawPointer? {
            let (block, _) = FrequencySketch.locate(hash ^ seed, blockMask)
            return UnsafeRawPointer(bitPattern: table &+ UInt(block) &* 8)
        }

        /// ``FrequencySketch/frequency(_:)``, through the locator (which does not own
        /// the table: only while the sketch lives).
        func frequency(_ hash: UInt64) -> Int {
            let (block, counterHash) = FrequencySketch.locate(hash ^ seed, blockMask)
            guard let words = UnsafePointer<UInt64>(bitPattern: table) else { return 0 }
            var minimum: UInt64 = FrequencySketch.maxCount
            for i in 0..<4 {
                let h = counterHash >> (UInt32(i) << 3)
                let index = (h >> 1) & 15
                let offset = Int(h & 1)
                let word = bcmem_load_relaxed(words + block + offset + (i << 1))
                minimum = min(minimum, (word >> (UInt64(index) << 2)) & 0xF)
            }
            return Int(minimum)
        }
    }

    var locator: Locator { Locator(table: UInt(bitPattern: table), blockMask: blockMask, seed: seed) }

    /// What ``increment(_:)`` did.
    enum Increment {
        /// Counted (some of the key's counters were below ``maxCount``).
        case counted
        /// Counted, and now all four of the key's counters are at ``maxCount``: until
        /// ``epoch`` changes, incrementing this key again changes nothing, so a caller
        /// that remembers this may skip it.
        case saturated
        /// Counted, and the counters were halved (aging): ``epoch`` moved on. After
        /// ``epochs`` halvings it comes back to a value it had before, so whatever a
        /// caller remembered of an epoch must be forgotten when this comes with
        /// ``epoch`` == 1.
        case halved
    }

    /// How many epochs there are before the numbering starts again (an entry keeps its
    /// epoch in 5 bits of its header, see ``Entry``).
    static let epochs: UInt8 = 31

    /// Which aging period the counters are in: 1 at first, one more after every
    /// halving, back to 1 after ``epochs``. While it stays the same, no counter
    /// decreases, so a key found saturated stays saturated.
    private(set) var epoch: UInt8 = 1

    /// Records one occurrence of `hash`.
    @discardableResult
    mutating func increment(_ hash: UInt64) -> Increment {
        let (block, counterHash) = Self.locate(hash ^ seed, blockMask)
        var added = false
        var saturated = true
        for i in 0..<4 {
            let h = counterHash >> (UInt32(i) << 3)
            let index = (h >> 1) & 15
            let offset = Int(h & 1)
            let slot = block + offset + (i << 1)
            let shift = UInt64(index) << 2
            let word = bcmem_load_relaxed(table + slot)
            let count = (word >> shift) & 0xF
            if count < Self.maxCount {
                bcmem_store_relaxed(table + slot, word &+ 1 << shift)
                added = true
                if count + 1 < Self.maxCount { saturated = false }
            }
        }
        if added {
            size += 1
            if size >= sampleSize {
                reset()
                return .halved
            }
        }
        return saturated ? .saturated : .counted
    }

    /// Halves every counter (aging), and the sample size with them.
    private mutating func reset() {
        var odd = 0
        for i in 0..<tableSize {
            let word = bcmem_load_relaxed(table + i)
            odd += (word & Self.oneMask).nonzeroBitCount
            bcmem_store_relaxed(table + i, (word >> 1) & Self.resetMask)
        }
        size = max(0, (size - (odd >> 2)) >> 1)
        epoch = epoch == Self.epochs ? 1 : epoch + 1
    }

    /// The first word of the key's block, and the hash that picks its four counters.
    @inline(__always)
    fileprivate static func locate(_ hash: UInt64, _ blockMask: UInt32) -> (Int, UInt32) {
        // The store picks shards by the top bits and index slots by the low bits of
        // the hash, so fold all 64 bits before spreading.
        let blockHash = spread(UInt32(truncatingIfNeeded: hash ^ (hash >> 32)))
        let counterHash = rehash(blockHash)
        return (Int(blockHash & blockMask) << 3, counterHash)
    }

    @inline(__always)
    private static func spread(_ x: UInt32) -> UInt32 {
        var x = x
        x ^= x >> 17
        x = x &* 0xed5a_d4bb
        x ^= x >> 11
        x = x &* 0xac4c_1b51
        x ^= x >> 15
        return x
    }

    @inline(__always)
    private static func rehash(_ x: UInt32) -> UInt32 {
        var x = x &* 0x3184_8bab
        x ^= x >> 14
        return x
    }
}
