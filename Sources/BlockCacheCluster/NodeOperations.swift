public import BlockCache
import BlockCacheRESP
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The extension commands nodes send each other (and that any client may send to
/// address a group by name). `PEER` marks a call from a node: the receiver acts as
/// the key's owner and never forwards it, whatever its own ring says.
enum PeerCommand {
    /// `BC.GET group key [PEER]` → `*2 $value :ttl-ms` (ttl -1 = never) or null.
    static let get = ByteBuffer(string: "BC.GET")
    /// `BC.SET group key value ttl-ms [PEER]` (ttl -1 = never, 0 = group default) → `+OK`.
    static let set = ByteBuffer(string: "BC.SET")
    /// `BC.DEL group key [PEER]` → `:1` if removed, else `:0`.
    static let del = ByteBuffer(string: "BC.DEL")
    /// `BC.DROP group key` → `+OK`: drop any copy not owned here (hot tier and stale copies).
    static let drop = ByteBuffer(string: "BC.DROP")
    static let peerFlag = ByteBuffer(string: "PEER")
}

/// Milliseconds since 1970 by the wall clock: write deadlines travel between nodes,
/// so they need the clock nodes share (kept in step by NTP), not a monotonic one.
func wallClockMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A failure of a cluster operation, with the text of its error reply.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    /// `ERR …`, `NOTFOUND…`: the reply line a Redis client sees.
    public let reply: String
    public let code: CacheError.Code
    init(_ code: CacheError.Code, _ reply: String) {
        self.code = code
        self.reply = reply
    }
    init(_ error: CacheError) {
        code = error.code
        reply = "ERR \(error.message)"
    }
    public var description: String { reply }
}

/// A result that is either known at once (a cache hit, answered on the caller's
/// event loop without allocating a future) or known later.
enum Answer<T> {
    case now(Result<T, any Error>)
    case later(EventLoopFuture<T>)

    func future(on loop: any EventLoop) -> EventLoopFuture<T> {
        switch self {
        case .now(let r): return loop.makeCompletedFuture(r)
        case .later(let f): return f
        }
    }
}

extension Node {
    // MARK: - Reads

    /// The value of `key` in `group`, from wherever the cluster has it, or loaded by
    /// its owner (or here, if the owner cannot be reached); nil when the loader has
    /// no value. The future completes on `loop`.
    ///
    /// Concurrent gets of one key share one load (as the owner) or one fetch from the
    /// owner (elsewhere): ``ClusterGroup/loads`` and ``ClusterGroup/fetches``. A write
    /// detaches them, so a get that begins after a write never shares one begun before.
    func get(_ cg: ClusterGroup, _ key: [UInt8], fromPeer: Bool, on loop: any EventLoop) -> Answer<LoadedValue?> {
        let view = self.view
        let owner = view.owner(key)
        if fromPeer || owner == nil || owner == view.selfAddress {
            if fromPeer { cg.servedToPeers.add(1, ordering: .relaxed) }
            do {
                if let hit = try cg.group.cached(key) {
                    cg.ownerHits.add(1, ordering: .relaxed)
                    return .now(.success(hit))
                }
            } catch {
                return .now(.failure(NodeError(error)))
            }
            let (future, leader) = cg.loads.run(key, on: loop) {
                load(cg, key, on: loop) { try cg.group.loadAfterMiss(key) }
            }
            if !leader { cg.flightsJoined.add(1, ordering: .relaxed) }
            return .later(future)
        }
        do {
            if hotTierUsable.load(ordering: .relaxed), let hit = try cg.hot.lookup(key) {
                cg.hotHits.add(1, ordering: .relaxed)
                return .now(.success(hit))
            }
        } catch {
            return .now(.failure(NodeError(error)))
        }
        let (future, leader) = cg.fetches.run(key, on: loop) { fetch(cg, key, view: view, owner: owner, on: loop) }
        if !leader {
            cg.flightsJoined.add(1, ordering: .relaxed)
            _ = cg.hot.recordRequest(key)  // a shared fetch still counts as a request for admission
        }
        return .later(future)
    }

    /// Asks the owner for `key` (or loads it here if the owner cannot be reached), and
    /// keeps the value in the hot tier when admitted, unless the key was invalidated
    /// while the fetch was on its way.
    private func fetch(_ cg: ClusterGroup, _ key: [UInt8], view: RingView, owner: String?,
                       on loop: any EventLoop) -> EventLoopFuture<LoadedValue?> {
        // Read before the call: an invalidation that arrives after this moves it.
        let generation = cg.hot.generation(key)
        guard let owner, let peer = view.peers[owner] else {
            return fallback(cg, key, generation: generation, on: loop)
        }
        cg.peerGets.add(1, ordering: .relaxed)
        let args = [PeerCommand.get, ByteBuffer(string: cg.name), ByteBuffer(bytes: key), PeerCommand.peerFlag]
        return peer.call(args, on: loop, fetch: true).flatMapThrowing { reply -> LoadedValue? in
            guard let value = try Self.decodeGetReply(reply) else { return nil }
            if cg.hot.recordRequest(key), self.hotTierUsable.load(ordering: .relaxed) {
                cg.hot.keep(key, value.bytes, ttl: value.ttl, ifStill: generation)
                cg.hotAdmits.add(1, ordering: .relaxed)
            }
            return value
        }.flatMapError { [self] error in
            if let peerError = error as? PeerError, peerError.isTransport {
                cg.peerFailures.add(1, ordering: .relaxed)
                return fallback(cg, key, generation: generation, on: loop)
            }
            return loop.makeFailedFuture(error)
        }
    }

    /// Loads here because the owner is unreachable: the group's loader, its value kept
    /// in the hot tier (at most ``NodeConfiguration/hotMaxTTLMilliseconds``), never in
    /// the main cache, which holds what this node owns.
    private func fallback(_ cg: ClusterGroup, _ key: [UInt8], generation: UInt64,
                          on loop: any EventLoop) -> EventLoopFuture<LoadedValue?> {
        cg.fallbackLoads.add(1, ordering: .relaxed)
        return load(cg, key, on: loop) { try cg.group.loadUncached(key) }.map { value in
            if let value, self.hotTierUsable.load(ordering: .relaxed) {
                cg.hot.keep(key, value.bytes, ttl: value.ttl, ifStill: generation)
            }
            return value
        }
    }

    /// Runs a (blocking) load on the loader threads.
    private func load(_ cg: ClusterGroup, _ key: [UInt8], on loop: any EventLoop,
                      _ body: @escaping @Sendable () throws -> LoadedValue) -> EventLoopFuture<LoadedValue?> {
        loaderPool.runIfActive(eventLoop: loop) { () throws -> LoadedValue? in
            do {
                return try body()
            } catch let e as CacheError where e.code == .notFound {
                return nil
            } catch let e as CacheError {
                throw NodeError(e)
            }
        }
    }

    static func decodeGetReply(_ reply: RESPValue) throws -> LoadedValue? {
        switch reply {
        case .null, .bulkString(nil), .array(nil): return nil
        case .error(let e): throw e.hasPrefix("ERR no group") ? NodeError(.notFound, e) : NodeError(.loaderFailed, e)
        case .array(let items?) where items.count == 2:
            guard case .bulkString(let b?) = items[0], case .integer(let ttl) = items[1] else { break }
            return LoadedValue(Array(b.readableBytesView), ttl: ttl > 0 ? .milliseconds(ttl) : .never)
        default: break
        }
        throw PeerError.protocolViolation("unexpected reply to BC.GET: \(reply)")
    }

    // MARK: - Writes

    /// Sets `key` at its owner, then has every other member drop its copy.
    /// `deadline` (wall clock, ms since 1970) is set on a write sent by another node:
    /// the owner refuses it once that time has passed, because the sender has then
    /// given up waiting and told its client the outcome is unknown; a write that reaches
    /// an owner late (it was paused, say) so never overwrites a newer one.
    func set(_ cg: ClusterGroup, _ key: [UInt8], _ value: [UInt8], ttl: TTL, fromPeer: Bool, deadline: Int64? = nil,
             on loop: any EventLoop) -> Answer<Void> {
        let view = self.view
        let owner = view.owner(key)
        if fromPeer || owner == nil || owner == view.selfAddress {
            if let deadline, wallClockMilliseconds() > deadline { return .now(.failure(Self.lateWrite)) }
            do {
                try cg.group.set(key, value, ttl: ttl)
            } catch {
                return .now(.failure(NodeError(error)))
            }
            forgetCopies(cg, key)
            if fromPeer || view.peers.isEmpty { return .now(.success(())) }
            return .later(invalidate(cg, key, view: view, except: view.selfAddress, on: loop))
        }
        guard let owner, let peer = view.peers[owner] else {
            return .now(.failure(NodeError(.internal, "ERR no client for owner \(owner ?? "?")")))
        }
        let ttlArg: Int64
        switch ttl {
        case .never: ttlArg = -1
        case .default: ttlArg = 0
        case .milliseconds(let ms): ttlArg = ms
        }
        let args = [PeerCommand.set, ByteBuffer(string: cg.name), ByteBuffer(bytes: key), ByteBuffer(bytes: value),
                    ByteBuffer(string: String(ttlArg)), PeerCommand.peerFlag, writeDeadline()]
        return .later(peer.call(args, on: loop).flatMapThrowing { reply in
            try Self.expectOK(reply, owner: owner)
        }.flatMapError { error in
            loop.makeFailedFuture(Self.writeError(error, owner: owner))
        }.flatMap { [self] in
            invalidate(cg, key, view: view, except: owner, on: loop)
        })
    }

    /// Deletes `key` at its owner, then has every other member drop its copy;
    /// whether the owner had it. `deadline` as in ``set(_:_:_:ttl:fromPeer:deadline:on:)``.
    func delete(_ cg: ClusterGroup, _ key: [UInt8], fromPeer: Bool, deadline: Int64? = nil,
                on loop: any EventLoop) -> EventLoopFuture<Bool> {
        let view = self.view
        let owner = view.owner(key)
        if fromPeer || owner == nil || owner == view.selfAddress {
            if let deadline, wallClockMilliseconds() > deadline { return loop.makeFailedFuture(Self.lateWrite) }
            let removed: Bool
            do {
                removed = try cg.group.delete(key)
            } catch {
                return loop.makeFailedFuture(NodeError(error))
            }
            forgetCopies(cg, key)
            if fromPeer { return loop.makeSucceededFuture(removed) }
            return invalidate(cg, key, view: view, except: view.selfAddress, on: loop).map { removed }
        }
        guard let owner, let peer = view.peers[owner] else {
            return loop.makeFailedFuture(NodeError(.internal, "ERR no client for owner \(owner ?? "?")"))
        }
        let args = [PeerCommand.del, ByteBuffer(string: cg.name), ByteBuffer(bytes: key), PeerCommand.peerFlag,
                    writeDeadline()]
        return peer.call(args, on: loop).flatMapThrowing { reply -> Bool in
            switch reply {
            case .integer(let n): return n > 0
            case .error(let e): throw NodeError(.unavailable, e)
            default: throw PeerError.protocolViolation("unexpected reply to BC.DEL: \(reply)")
            }
        }.flatMapError { error in
            loop.makeFailedFuture(Self.writeError(error, owner: owner))
        }.flatMap { [self] removed in
            invalidate(cg, key, view: view, except: owner, on: loop).map { removed }
        }
    }

    /// How long a write waits for the `BC.DROP` of a peer whose breaker is open.
    static let breakerOpenDropWait = TimeAmount.milliseconds(50)

    /// The deadline sent with a write to its owner: when this node stops waiting.
    private func writeDeadline() -> ByteBuffer {
        ByteBuffer(string: String(wallClockMilliseconds() + configuration.peerTimeoutMilliseconds))
    }

    private static let lateWrite = NodeError(
        .unavailable, "TIMEOUT the write reached the owner after its deadline (the sender had given up); not applied")

    /// After a write here: the hot copy goes, and loads and fetches of the key that are
    /// running are detached (a get from now on starts its own).
    private func forgetCopies(_ cg: ClusterGroup, _ key: [UInt8]) {
        cg.loads.forget(key)
        cg.hot.invalidate(key)
        cg.fetches.forget(key)
    }

    /// Drops this node's copies of a key it does not own (hot tier, and a copy left in
    /// the main cache from when it owned the key), and detaches fetches in flight so
    /// their results are not kept.
    func drop(_ cg: ClusterGroup, _ key: [UInt8]) {
        cg.hot.invalidate(key)
        cg.fetches.forget(key)
        if view.owner(key) != view.selfAddress {
            _ = try? cg.group.delete(key)
            cg.loads.forget(key)
        }
    }

    /// Drops `key` here and has every member except `owner` drop it, waiting for all
    /// of them. A member that cannot be reached is skipped (it is down, paused or being
    /// removed; its copies expire within ``NodeConfiguration/hotMaxTTLMilliseconds``).
    private func invalidate(_ cg: ClusterGroup, _ key: [UInt8], view: RingView, except owner: String,
                            on loop: any EventLoop) -> EventLoopFuture<Void> {
        if owner != view.selfAddress { drop(cg, key) }
        let others = view.peers.filter { $0.key != owner }
        guard !others.isEmpty else { return loop.makeSucceededVoidFuture() }
        let args = [PeerCommand.drop, ByteBuffer(string: cg.name), ByteBuffer(bytes: key)]
        let calls = others.map { address, peer -> EventLoopFuture<Void> in
            // A peer the breaker takes for dead still gets the drop: if it is alive after
            // all (back from a pause, a partition or a restart), it must not keep serving
            // the old value, and its answer closes the breaker. Waiting for it is capped
            // at ``breakerOpenDropWait`` so that a peer that really is gone costs each
            // write little.
            if peer.isBreakerOpen {
                let answered = peer.call(args, on: loop, throughBreaker: true).map { _ in () }
                let done = loop.makePromise(of: Void.self)
                answered.cascade(to: done)
                let timer = loop.scheduleTask(in: Self.breakerOpenDropWait) { done.succeed(()) }
                answered.whenComplete { _ in timer.cancel() }
                return done.futureResult
            }
            return peer.call(args, on: loop).map { reply in
                // Reachable but refusing (a password or certificate the peer does not
                // accept): a misconfiguration that leaves stale copies, so say it.
                if case .error(let e) = reply { self.log("BC.DROP refused by \(address): \(e)") }
            }
        }
        return EventLoopFuture.whenAllComplete(calls, on: loop).map { _ in () }
    }

    private static func expectOK(_ reply: RESPValue, owner: String) throws {
        switch reply {
        case .simpleString: return
        case .error(let e): throw NodeError(.unavailable, e)
        default: throw PeerError.protocolViolation("unexpected reply from \(owner): \(reply)")
        }
    }

    /// A write that failed to reach its owner: not applied when the owner never got
    /// it; of unknown outcome when it was sent and no answer came (the owner applies
    /// it before the write's deadline or never).
    private static func writeError(_ error: any Error, owner: String) -> any Error {
        if let e = error as? PeerError, e.isTransport {
            if e.mayHaveRun {
                return NodeError(.unavailable, "ERR owner \(owner) of the key did not answer (\(e)); the outcome of the write is unknown")
            }
            return NodeError(.unavailable, "ERR owner \(owner) of the key is unreachable (\(e)); the write was not applied")
        }
        return error
    }
}

// MARK: - In-process API (for embedding: Swift, and the C ABI)

extension Node {
    private func clusterGroup(_ name: String) throws(CacheError) -> ClusterGroup {
        guard let cg = groups[name] else { throw CacheError(.notFound, "no group named '\(name)' on this node") }
        return cg
    }

    private func checkKey(_ key: [UInt8]) throws(CacheError) {
        guard key.count <= configuration.maxKeyBytes else {
            throw CacheError(.tooLarge, "key is \(key.count) bytes; the node's limit is \(configuration.maxKeyBytes)")
        }
    }

    /// The value of `key` in `group` through the cluster (as a client's `GET` would
    /// be served here); nil when the loader has no value. Blocks the calling thread;
    /// must not be called from one of the node's event loops (nor from a loader).
    public func get(group: String, key: [UInt8]) throws(CacheError) -> LoadedValue? {
        let cg = try clusterGroup(group)
        try checkKey(key)
        let loop = eventLoopGroup.next()
        return try Self.wait(get(cg, key, fromPeer: false, on: loop).future(on: loop))
    }

    /// Sets `key` in `group` at its owner and drops every other copy. Blocks.
    public func set(group: String, key: [UInt8], value: [UInt8], ttl: TTL = .default) throws(CacheError) {
        let cg = try clusterGroup(group)
        try checkKey(key)
        let loop = eventLoopGroup.next()
        try Self.wait(set(cg, key, value, ttl: ttl, fromPeer: false, on: loop).future(on: loop))
    }

    /// Deletes `key` in `group` at its owner and drops every other copy; whether the
    /// owner had it. Blocks.
    @discardableResult
    public func delete(group: String, key: [UInt8]) throws(CacheError) -> Bool {
        let cg = try clusterGroup(group)
        try checkKey(key)
        return try Self.wait(delete(cg, key, fromPeer: false, on: eventLoopGroup.next()))
    }

    private static func wait<T>(_ f: EventLoopFuture<T>) throws(CacheError) -> T {
        do {
            return try f.wait()
        } catch let e as NodeError {
            throw CacheError(e.code, e.reply.hasPrefix("ERR ") ? String(e.reply.dropFirst(4)) : e.reply)
        } catch let e as PeerError {
            throw CacheError(e.isTransport ? .unavailable : .internal, e.description)
        } catch {
            throw CacheError(.internal, "\(error)")
        }
    }
}
