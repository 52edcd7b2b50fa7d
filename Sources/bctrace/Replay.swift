import BlockCache
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One simulation: a policy at a capacity (in entries).
struct ReplayJob: Sendable, Hashable {
    let policy: EvictionPolicy
    let capacity: Int
}

/// Replays traces through the real engine: one fresh single-shard ``Store`` per
/// (policy, capacity), where every request is a `get` and every miss a `set`.
enum Replay {
    /// The hits of `keys` replayed through a store with `job`'s policy and capacity.
    ///
    /// The key of a request is its integer as 8 little-endian bytes; values are empty,
    /// so every entry costs 1 against the entry budget and the byte budget stays off.
    /// One shard: the README's figures are for one cache of that capacity, and several
    /// shards would split it into unequal parts. No sweeper: nothing expires.
    /// Nothing is allocated per request except the entries the engine stores.
    static func hits(_ keys: [Int64], _ job: ReplayJob) throws(CacheError) -> Int {
        let store = try Store(StoreConfiguration(
            policy: job.policy, maxEntries: UInt64(job.capacity), shards: 1, sweepIntervalMilliseconds: -1))
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        var hits = 0
        try keys.withUnsafeBufferPointer { (requests) throws(CacheError) in
            for request in requests {
                var key = request.littleEndian
                try withUnsafeBytes(of: &key) { (k) throws(CacheError) in
                    if try store.withValue(forKey: k, { _ in }) != nil {
                        hits += 1
                    } else {
                        try store.set(k, empty)
                    }
                }
            }
        }
        // The engine's own counters must agree with ours: a cheap check of the replay.
        let stats = store.stats()
        precondition(stats.hits == UInt64(hits) && stats.misses == UInt64(keys.count - hits),
                     "engine counted \(stats.hits) hits, \(stats.misses) misses; replay counted \(hits) of \(keys.count)")
        return hits
    }

    /// Runs every job on `keys`, `threads` at a time; results in the order of `jobs`.
    static func run(_ keys: [Int64], _ jobs: [ReplayJob], threads: Int) throws(CacheError) -> [Int] {
        let work = Work(count: jobs.count)
        // Largest capacities first: they tend to run longest (their tables outgrow the CPU
        // caches), so the threads tend to finish together.
        let order = jobs.indices.sorted { jobs[$0].capacity > jobs[$1].capacity }
        onThreads(max(1, min(threads, jobs.count))) {
            while true {
                let n = work.next.add(1, ordering: .relaxed).oldValue
                guard n < order.count else { return }
                let i = order[n]
                let result = Result { () throws(CacheError) in try hits(keys, jobs[i]) }
                work.results.withLock { $0[i] = result }
            }
        }
        return try work.results.withLock { results throws(CacheError) in
            try results.map { (r) throws(CacheError) in try r!.get() }
        }
    }

    private final class Work: Sendable {
        /// The next job (an index into the run order) to hand out.
        let next = Atomic<Int>(0)
        let results: Mutex<[Result<Int, CacheError>?]>

        init(count: Int) {
            results = Mutex(Array(repeating: nil, count: count))
        }
    }
}

/// Runs `body` on `n` threads at once (n - 1 new ones plus the caller) and waits for
/// them all. Threads, not Swift tasks: a replay is long and CPU-bound.
private func onThreads(_ n: Int, _ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var threads: [pthread_t] = []
    for _ in 1..<max(1, n) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        if rc == 0 {
            threads.append(thread)
        } else {
            Unmanaged<Box>.fromOpaque(context).release()  // fewer threads; the work still gets done
        }
    }
    body()
    for t in threads { pthread_join(t, nil) }
}
