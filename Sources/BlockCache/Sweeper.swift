/// The active half of expiry: a thread that periodically walks a bounded slice of
/// each shard's index and removes expired entries, so that entries nobody reads
/// again still leave. (The lazy half is in ``ShardState/lookup(_:hash:)``.)
///
/// Bounded: each tick examines at most ``slotsPerRound`` slots of a shard per lock
/// hold, and repeats on that shard only while more than a quarter of what it saw had
/// expired (Redis's adaptive rule), at most ``maxRoundsPerTick`` times. It starts
/// with the first entry that has a TTL, and ``stop()`` (called when the store is
/// freed) wakes and joins it.
final class Sweeper: @unchecked Sendable {
    static let slotsPerRound = 256
    static let maxRoundsPerTick = 16

    private let shards: ShardArray
    private let intervalMilliseconds: Int64
    private let condition = ConditionLock()
    // Protected by `condition`.
    private var thread: pthread_t?
    private var stopping = false

    init(shards: ShardArray, intervalMilliseconds: Int64) {
        self.shards = shards
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Starts the thread unless it runs already or the sweeper was stopped.
    func startIfNeeded() {
        condition.withLock {
            guard thread == nil, !stopping else { return }
            thread = startThread { [self] in run() }
        }
    }

    /// Whether the thread has been started and not yet joined.
    var isRunning: Bool { condition.withLock { thread != nil } }

    /// Stops and joins the thread. Idempotent.
    func stop() {
        let t: pthread_t? = condition.withLock {
            stopping = true
            condition.broadcast()
            defer { thread = nil }
            return thread
        }
        if let t { pthread_join(t, nil) }
    }

    private func run() {
        while true {
            let stop: Bool = condition.withLock {
                if !stopping { condition.wait(milliseconds: intervalMilliseconds) }
                return stopping
            }
            if stop { return }
            sweepOnce(now: MonotonicClock.nowMilliseconds())
        }
    }

    /// One tick over every shard. Returns the number of entries removed.
    @discardableResult
    func sweepOnce(now: Int64) -> Int {
        var removed = 0
        for i in 0..<shards.count {
            for _ in 0..<Self.maxRoundsPerTick {
                let (examined, expired) = shards.withShard(i) { $0.sweep(limit: Self.slotsPerRound, now: now) }
                removed += expired
                if examined == 0 || expired * 4 <= examined { break }
            }
        }
        return removed
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
