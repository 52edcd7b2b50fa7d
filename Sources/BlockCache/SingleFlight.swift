import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Duplicate call suppression: while a call for a key is running, other callers of
/// the same key wait for it and share its result or error instead of running their own.
///
/// Blocking (threads wait on a condition variable), because the engine's callers
/// are C and Python threads, not Swift tasks.
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Call: @unchecked Sendable {
        let done = ConditionLock()
        let leader = pthread_self()
        // Protected by `done`.
        var result: Result<Value, any Error>?
    }

    private enum Role { case leader(Call), follower(Call) }

    /// Calls in flight, by key.
    private let calls = Mutex<[Key: Call]>([:])
    /// How many entries `calls` has, readable without its lock (so that ``forget(_:)``
    /// costs a write nothing when no call is running).
    private let count = Atomic<Int>(0)

    public init() {}

    /// Runs `body` for `key` unless a call for `key` is running, in which case it
    /// waits for that call and returns its result.
    /// - Returns: the result, and whether it was shared from another caller's run.
    /// - Note: `body` must not call `run` for the same key on the same thread; that
    ///   would wait for itself, so it fails with a `.misuse` error instead.
    public func run(_ key: Key, _ body: () throws -> Value) -> (result: Result<Value, any Error>, shared: Bool) {
        let role: Role = calls.withLock { calls in
            if let existing = calls[key] { return .follower(existing) }
            let call = Call()
            calls[key] = call
            count.store(calls.count, ordering: .sequentiallyConsistent)
            return .leader(call)
        }
        switch role {
        case .follower(let call):
            if pthread_equal(call.leader, pthread_self()) != 0 {
                return (.failure(CacheError(.misuse, "a loader asked for the key it is loading (it would wait for itself)")), false)
            }
            let result: Result<Value, any Error> = call.done.withLock {
                while call.result == nil { call.done.wait() }
                return call.result!
            }
            return (result, true)
        case .leader(let call):
            let result = Result { try body() }
            // Forget the call before publishing its result: a caller arriving after
            // this point starts a new call instead of reading a finished one.
            // (Only if it is still ours: ``forget(_:)`` may have replaced it.)
            calls.withLock { calls in
                if calls[key] === call { calls.removeValue(forKey: key) }
                count.store(calls.count, ordering: .sequentiallyConsistent)
            }
            call.done.withLock {
                call.result = result
                call.done.broadcast()
            }
            return (result, false)
        }
    }

    /// Detaches the call running for `key`, if any: its callers still get its result,
    /// but a caller arriving from now on starts a new call. A write uses this so that
    /// a read that begins after the write never shares a load that began before it.
    public func forget(_ key: Key) {
        guard count.load(ordering: .sequentiallyConsistent) > 0 else { return }
        calls.withLock { calls in
            calls.removeValue(forKey: key)
            count.store(calls.count, ordering: .sequentiallyConsistent)
        }
    }

    /// Whether any call is running (without taking the lock).
    public var isIdle: Bool { count.load(ordering: .sequentiallyConsistent) == 0 }

    /// Keys with a call in flight now (for tests and stats).
    public var inFlight: Int { calls.withLock { $0.count } }
}
