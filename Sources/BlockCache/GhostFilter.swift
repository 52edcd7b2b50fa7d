/// A compact memory of recently evicted keys, by hash (LRU2's, see ``PolicyLists``):
/// two generations of a Bloom filter (3 probes, 16 bits per remembered key), the older
/// dropped whenever the newer has taken `capacity` keys. So it answers "was this key evicted within roughly the
/// last `capacity` to 2 × `capacity` evictions?" with about 1% false positives, in
/// 4 bytes per unit of capacity, where a list of ghost entries would cost ~40.
/// (The same role as 2Q's A1out and ARC's B1 lists: Johnson and Shasha, VLDB 1994;
/// Megiddo and Modha, FAST 2003.) W-TinyLFU needs to know when, not only whether, a key
/// was evicted, and keeps an ``EvictionHistory`` instead.
struct GhostFilter {
    private static let bitsPerKey = 16
    private static let probes = 3

    private var words: [UInt64]
    /// Words per generation; a power of two.
    private let generationWords: Int
    private let capacity: Int
    private var current = 0
    private var insertedInCurrent = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        let bits = max(64, min(self.capacity, 1 << 28) * Self.bitsPerKey)
        generationWords = ceilPowerOfTwo(bits / 64)
        words = Array(repeating: 0, count: 2 * generationWords)
    }

    func contains(_ hash: UInt64) -> Bool {
        contains(hash, generation: current) || contains(hash, generation: 1 - current)
    }

    mutating func insert(_ hash: UInt64) {
        if insertedInCurrent >= capacity {
            current = 1 - current
            let base = current * generationWords
            for i in base..<base + generationWords { words[i] = 0 }
            insertedInCurrent = 0
        }
        let base = current * generationWords
        let (h1, h2, mask) = Self.probe(hash, generationWords)
        for i in 0..<Self.probes {
            let bit = (h1 &+ i &* h2) & mask
            words[base + (bit >> 6)] |= 1 << UInt64(bit & 63)
        }
        insertedInCurrent += 1
    }

    private func contains(_ hash: UInt64, generation: Int) -> Bool {
        let base = generation * generationWords
        let (h1, h2, mask) = Self.probe(hash, generationWords)
        for i in 0..<Self.probes {
            let bit = (h1 &+ i &* h2) & mask
            if words[base + (bit >> 6)] & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }

    /// The probe positions: double hashing on a remix of the key's hash (the store
    /// uses its low and top bits for slots and shards).
    @inline(__always)
    private static func probe(_ hash: UInt64, _ words: Int) -> (Int, Int, Int) {
        let mixed = (hash ^ (hash >> 29)) &* 0xBF58_476D_1CE4_E5B9
        let h1 = Int(truncatingIfNeeded: mixed >> 32), h2 = Int(truncatingIfNeeded: mixed & 0xFFFF_FFFF) | 1
        return (h1, h2, words * 64 - 1)
    }
}
