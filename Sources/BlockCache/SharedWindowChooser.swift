import Synchronization

/// A store's ``WindowChooser`` behind a lock of its own, so that shadow replays run
/// after the shard's lock is released instead of inside it (a replay runs six shadow
/// accesses; inside the lock, another thread wanting the same shard waited for them).
/// ``ShardArray`` owns it; every W-TinyLFU shard of the store feeds it.
///
/// The protocol, exactly:
/// 1. Under a shard's lock, W-TinyLFU tests ``WindowChooser/samples(_:threshold:)``
///    with its copy of ``threshold``; for a sampled access it leaves a ``Sample`` (the key's hash and
///    its weight) in the shard.
/// 2. `ShardArray.withShard` takes the sample before it unlocks the shard, and
///    replays it (``replay(_:)``) after.
/// 3. A replay that finds the chooser busy (another thread is replaying a sample)
///    drops its sample rather than wait: the shadows see a slightly thinner sample, no
///    thread ever waits on them. With one thread, nothing is ever dropped.
/// 4. A replay that ends a period returns the window share chosen
///    (``WindowChooser/record(_:weight:frequency:)``), and the replaying thread locks
///    each shard in turn to apply it (once a period, which is about two budgets' worth
///    of the store's accesses; two periods' applications cannot overlap in practice,
///    and if they did, a shard would only be one step off until the next period).
///
/// The shadows read the shards' frequency sketches while the shards may be writing
/// them: the sketches' words are relaxed atomics (see ``FrequencySketch``).
final class SharedWindowChooser: Sendable {
    /// A sampled access, waiting to be replayed.
    struct Sample {
        let hash: UInt64
        let weight: Int
    }

    private let chooser: Mutex<WindowChooser>
    /// The sampling threshold (``WindowChooser/samples(_:threshold:)``), readable
    /// without the lock; each shard keeps a copy.
    let threshold: UInt64
    /// Where the shards' sketches are (the shadows duel with their frequencies).
    private let frequency: WindowChooser.Frequencies

    init(_ chooser: consuming WindowChooser, frequency: WindowChooser.Frequencies) {
        threshold = chooser.threshold
        self.frequency = frequency
        self.chooser = Mutex(chooser)
    }

    /// Replays `sample` in the shadows unless another replay holds the chooser; at the
    /// end of a period, returns the window share the shards move towards.
    func replay(_ sample: Sample) -> Double? {
        chooser.withLockIfAvailable { chooser in
            chooser.record(sample.hash, weight: sample.weight, frequency: frequency)
        } ?? nil
    }
}
