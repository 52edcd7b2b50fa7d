import Synchronization

/// A shard's ``WindowChooser`` behind a lock of its own, so that shadow replays run
/// after the shard's lock is released instead of inside it (a replay runs twelve
/// shadow accesses; inside the lock, another thread wanting the same shard waited for
/// them).
///
/// The protocol, exactly:
/// 1. Under the shard's lock, W-TinyLFU tests ``samples(_:)``; for a sampled access it
///    leaves a ``Sample`` (the key's hash, its weight and the real window's current
///    size) in the shard.
/// 2. `ShardArray.withShard` takes the sample before it unlocks the shard, and
///    replays it (``replay(_:)``) after.
/// 3. A replay that finds the chooser busy (another thread is replaying a sample of
///    the same shard) drops its sample rather than wait: the shadows see a slightly
///    thinner sample, the shard never waits on them. With one thread, nothing is ever
///    dropped.
/// 4. A replay that ends a period returns the next window and admission mode
///    (``WindowChooser/record(_:weight:frequency:window:)``), and the replaying thread
///    locks the shard again to apply them (once a period).
///
/// The shadows read the shard's frequency sketch while the shard may be writing it:
/// the sketch's words are relaxed atomics (see ``FrequencySketch``).
final class SharedWindowChooser: Sendable {
    /// A sampled access, waiting to be replayed.
    struct Sample {
        let hash: UInt64
        let weight: Int
        /// The real cache's window when the access was made.
        let window: Int
        let chooser: SharedWindowChooser

        /// Rules 2 to 4.
        func replay() -> (window: Int, secondChance: Bool)? { chooser.replay(self) }
    }

    private let chooser: Mutex<WindowChooser>
    /// The sampling threshold (``WindowChooser/samples(_:)``), readable without the lock.
    private let threshold: UInt64
    /// Where the shard's sketch is (the shadows duel with its frequencies).
    private let frequency: FrequencySketch.Locator?

    /// - Parameter frequency: the shard's sketch; nil only for a chooser that samples
    ///   nothing.
    init(_ chooser: consuming WindowChooser, frequency: FrequencySketch.Locator?) {
        threshold = chooser.threshold
        precondition(frequency != nil || threshold == 0, "a sampling chooser needs the shard's sketch")
        self.frequency = frequency
        self.chooser = Mutex(chooser)
    }

    /// ``WindowChooser/samples(_:)``, without the lock.
    @inline(__always)
    func samples(_ hash: UInt64) -> Bool {
        WindowChooser.samples(hash, threshold: threshold)
    }

    /// Replays `sample` in the shadows unless another replay holds the chooser;
    /// at the end of a period, returns the real cache's next window and admission mode.
    func replay(_ sample: Sample) -> (window: Int, secondChance: Bool)? {
        guard let frequency else { return nil }
        return chooser.withLockIfAvailable { chooser in
            chooser.record(sample.hash, weight: sample.weight, frequency: frequency, window: sample.window)
        } ?? nil
    }
}
