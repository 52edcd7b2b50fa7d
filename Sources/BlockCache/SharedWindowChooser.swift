import Synchronization

/// A shard's ``WindowChooser`` behind a lock of its own, so that shadow replays run
/// after the shard's lock is released instead of inside it (a replay runs twelve
/// shadow accesses; inside the lock, another thread wanting the same shard waited for
/// them).
///
/// The protocol, exactly:
/// 1. Under the shard's lock, W-TinyLFU tests ``samples(_:)``; for a sampled access it
///    first applies the chooser's latest decision, if a new one is waiting
///    (``takeDecision()``), then leaves a ``Sample`` (the key's hash, its weight and
///    the real window's current size) in the shard.
/// 2. `ShardArray.withShard` takes the sample before it unlocks the shard, and
///    replays it (``replay(_:)``) after.
/// 3. A replay that finds the chooser busy (another thread is replaying a sample of
///    the same shard) drops its sample rather than wait: the shadows see a slightly
///    thinner sample, the shard never waits on them. With one thread, nothing is ever
///    dropped.
/// 4. At the end of a period the replay publishes the next window and admission mode
///    (``WindowChooser/record(_:weight:frequency:window:)``), and the replaying thread
///    locks the shard again to apply it (once a period). Should another thread's
///    sampled access come first, that one applies it (rule 1); a decision is applied
///    once.
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

        /// Rules 2 and 3; whether a decision was published (rule 4).
        func replay() -> Bool { chooser.replay(self) }
    }

    private let chooser: Mutex<WindowChooser>
    /// The sampling threshold (``WindowChooser/samples(_:)``), readable without the lock.
    private let threshold: UInt64
    /// Where the shard's sketch is (the shadows duel with its frequencies).
    private let frequency: FrequencySketch.Locator?
    /// The latest decision not yet applied: 0 for none, else ``decisionFlag``, the
    /// admission mode in ``secondChanceFlag`` and the window in the low 62 bits.
    private let decision = Atomic<UInt64>(0)
    private static let decisionFlag: UInt64 = 1 << 63
    private static let secondChanceFlag: UInt64 = 1 << 62

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

    /// The decision of the last period that ended, if it has not been taken yet.
    func takeDecision() -> (window: Int, secondChance: Bool)? {
        guard decision.load(ordering: .relaxed) != 0 else { return nil }
        let d = decision.exchange(0, ordering: .acquiring)
        guard d != 0 else { return nil }
        return (Int(d & (Self.secondChanceFlag - 1)), d & Self.secondChanceFlag != 0)
    }

    /// Replays `sample` in the shadows unless another replay holds the chooser;
    /// returns whether the replay ended a period and published a decision.
    func replay(_ sample: Sample) -> Bool {
        guard let frequency else { return false }
        return chooser.withLockIfAvailable { chooser -> Bool in
            guard let next = chooser.record(sample.hash, weight: sample.weight, frequency: frequency, window: sample.window) else { return false }
            let window = UInt64(max(0, next.window)) & (Self.secondChanceFlag - 1)
            decision.store(Self.decisionFlag | (next.secondChance ? Self.secondChanceFlag : 0) | window, ordering: .releasing)
            return true
        } ?? false
    }
}
