import NIOConcurrencyHelpers
import NIOCore

/// Singleflight for event loops: while a fetch or load of a key is running, other
/// callers of that key get its future instead of starting their own; nobody blocks a
/// thread while waiting (the node's followers wait on a future, not on a loader thread).
///
/// ``forget(_:)`` detaches the running call of a key: its callers still get its
/// result, but callers from then on start a new one. Writes and invalidations use it,
/// so that a read that begins after a write never shares a fetch that began before it.
///
/// Thread safety: every method may be called from any thread.
final class FutureFlights<Value: Sendable>: Sendable {
    private struct Call {
        let id: UInt64
        let future: EventLoopFuture<Value>
    }

    private struct State {
        var calls: [[UInt8]: Call] = [:]  // the running call of each key
        var nextID: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    private enum Role {
        case follower(EventLoopFuture<Value>)
        case leader(EventLoopPromise<Value>, UInt64)
    }

    /// The result of the call running for `key`, or of a new one that `start` begins
    /// (on `loop`, outside the lock); completes on `loop`.
    /// - Returns: the future, and whether this caller started the call.
    func run(_ key: [UInt8], on loop: any EventLoop,
             _ start: () -> EventLoopFuture<Value>) -> (future: EventLoopFuture<Value>, leader: Bool) {
        let role: Role = state.withLockedValue { s -> Role in
            if let existing = s.calls[key] { return .follower(existing.future) }
            let promise = loop.makePromise(of: Value.self)
            s.nextID &+= 1
            s.calls[key] = Call(id: s.nextID, future: promise.futureResult)
            return .leader(promise, s.nextID)
        }
        guard case .leader(let promise, let id) = role else {
            guard case .follower(let joined) = role else { preconditionFailure() }
            return (joined.hop(to: loop), false)
        }
        promise.futureResult.whenComplete { [self] (_: Result<Value, any Error>) in
            state.withLockedValue { s in
                if s.calls[key]?.id == id { s.calls.removeValue(forKey: key) }
            }
        }
        promise.completeWith(start())
        return (promise.futureResult, true)
    }

    /// Detaches the call running for `key`, if any (see the type's doc).
    func forget(_ key: [UInt8]) {
        state.withLockedValue { s in
            if !s.calls.isEmpty { s.calls.removeValue(forKey: key) }
        }
    }

    /// Keys with a call running now.
    var count: Int { state.withLockedValue { $0.calls.count } }
}
