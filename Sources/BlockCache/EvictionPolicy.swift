/// How a store chooses what to keep when it is over budget.
public enum EvictionPolicy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Least recently used: one list; every access moves the entry to the front;
    /// eviction takes the back.
    case lru
    /// Two-level LRU (segmented LRU), scan resistant. See ``PolicyLists`` for the rules.
    case lru2
    /// W-TinyLFU with an adaptive window: a small LRU window admits new entries; a
    /// window leaver displaces the main cache's next victim if a frequency sketch has
    /// seen it more often, or if it came back (after an eviction) sooner than the victim
    /// has been idle; small shadow caches replaying a sample of the traffic choose the
    /// window's size. See `PolicyLists+WindowTinyLFU.swift`.
    case wtinylfu

    /// The policy a store gets when none is named: W-TinyLFU, the best of the three on
    /// the reference traces (docs/hit-ratio.md).
    public static let `default`: EvictionPolicy = .wtinylfu

    /// The policy with this name ("lru", "lru2", "wtinylfu"), case-insensitive.
    public init?(name: String) {
        switch name.lowercased() {
        case "w-tinylfu", "tinylfu": self = .wtinylfu
        default: self.init(rawValue: name.lowercased())
        }
    }

    public var description: String { rawValue }
}
