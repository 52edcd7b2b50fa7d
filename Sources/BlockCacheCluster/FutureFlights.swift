import BlockCache
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Singleflight for event loops: while a fetch or load of a key is running, other
/// callers of that key get its future instead of starting their own; nobody blocks a
/// thread while waiting (the node's followers wait on a future, not on a loader thread).
///
/// ``forget(_:)`` detaches the running call of a key: its callers still get its
/// result, but callers from then on start a new one. Writes and invalidations use it,
/// so that a read that begins after a write never shares a fetch that began before it.
///
/// Thread safety: every method may be called from any thread.
final class FutureFlights: Sendable {
    /// Not generic: the node's flights all carry a value or its absence, and a generic
    /// class here cost a run-time metadata lookup per call.
    typealias Value = LoadedValue?

    /// A key hashed once with the engine's hash (Swift's Hasher over an array would
    /// feed it byte by byte, on every get that misses).
    private struct Key: Hashable {
        let hash: UInt64
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            hash = StableHash.hash64(bytes)
        }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    }

    private struct Call {
        let id: UInt64
        /// The leader's future, once `start` has returned it.
        var future: EventLoopFuture<Value>?
    }

    private struct State {
        var calls: [Key: Call] = [:]  // the running call of each key
        /// By call id: followers that came before the leader's future existed (kept
        /// apart from `calls`, so that a call forgotten meanwhile still hands them its result).
        var early: [UInt64: [EventLoopPromise<Value>]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// How many calls are running, readable without the lock: ``forget(_:)`` runs on
    /// every write and costs nothing when no call is running.
    private let running = Atomic<Int>(0)

    private enum Role {
        case follower(EventLoopFuture<Value>)
        case leader(UInt64)
    }

    /// The result of the call running for `key`, or of a new one that `start` begins
    /// (on `loop`, outside the lock); completes on `loop`.
    /// - Returns: the future, and whether this caller started the call.
    func run(_ bytes: [UInt8], on loop: any EventLoop,
             _ start: () -> EventLoopFuture<Value>) -> (future: EventLoopFuture<Value>, leader: Bool) {
        let key = Key(bytes)
        // The leader makes no promise of its own (a promise per miss costs): a follower
        // that comes before the leader's future exists waits on a promise it adds.
        let role: Role = state.withLockedValue { s -> Role in
            if let existing = s.calls[key] {
                if let f = existing.future { return .follower(f) }
                let p = loop.makePromise(of: Value.self)
                s.early[existing.id, default: []].append(p)
                return .follower(p.futureResult)
            }
            s.nextID &+= 1
            s.calls[key] = Call(id: s.nextID)
            running.store(s.calls.count, ordering: .sequentiallyConsistent)
            return .leader(s.nextID)
        }
        guard case .leader(let id) = role else {
            guard case .follower(let joined) = role else { preconditionFailure() }
            return (joined.eventLoop === loop ? joined : joined.hop(to: loop), false)
        }
        let future = start()
        let early: [EventLoopPromise<Value>] = state.withLockedValue { s in
            if s.calls[key]?.id == id { s.calls[key]!.future = future }  // unless forgotten meanwhile
            return s.early.removeValue(forKey: id) ?? []
        }
        for p in early { future.cascade(to: p) }
        future.whenComplete { [self] (_: Result<Value, any Error>) in
            state.withLockedValue { s in
                if s.calls[key]?.id == id { s.calls.removeValue(forKey: key) }
                running.store(s.calls.count, ordering: .sequentiallyConsistent)
            }
        }
        return (future, true)
    }

    /// Detaches the call running for `key`, if any (see the type's doc).
    func forget(_ bytes: [UInt8]) {
        guard running.load(ordering: .sequentiallyConsistent) > 0 else { return }
        state.withLockedValue { s in
            s.calls.removeValue(forKey: Key(bytes))
            running.store(s.calls.count, ordering: .sequentiallyConsistent)
        }
    }
}
