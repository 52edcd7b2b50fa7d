public import BlockCache
import BlockCacheRESP
import NIOCore

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
            return .later(load(cg, key, on: loop) { try cg.group.loadAfterMiss(key) })
        }
        do {
            if let hit = try cg.hot.lookup(key) {
                cg.hotHits.add(1, ordering: .relaxed)
                return .now(.success(hit))
            }
        } catch {
            return .now(.failure(NodeError(error)))
        }
        guard let owner, let peer = view.peers[owner] else {
            return .later(fallback(cg, key, on: loop))
        }
        cg.peerGets.add(1, ordering: .relaxed)
        let args = [PeerCommand.get, ByteBuffer(string: cg.name), ByteBuffer(bytes: key), PeerCommand.peerFlag]
        return .later(peer.call(args, on: loop).flatMapThrowing { reply -> LoadedValue? in
            guard let value = try Self.decodeGetReply(reply) else { return nil }
            if cg.hot.recordRequest(key) {
                cg.hot.keep(key, value.bytes, ttl: value.ttl)
                cg.hotAdmits.add(1, ordering: .relaxed)
            }
            return value
        }.flatMapError { [self] error in
            if let peerError = error as? PeerError, peerError.isTransport {
                cg.peerFailures.add(1, ordering: .relaxed)
                return fallback(cg, key, on: loop)
            }
            return loop.makeFailedFuture(error)
        })
    }

    /// Loads here because the owner is unreachable: the group's cache, then its loader.
    private func fallback(_ cg: ClusterGroup, _ key: [UInt8], on loop: any EventLoop) -> EventLoopFuture<LoadedValue?> {
        cg.fallbackLoads.add(1, ordering: .relaxed)
        return load(cg, key, on: loop) { try cg.group.getWithTTL(key) }
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
    func set(_ cg: ClusterGroup, _ key: [UInt8], _ value: [UInt8], ttl: TTL, fromPeer: Bool,
             on loop: any EventLoop) -> Answer<Void> {
        let view = self.view
        let owner = view.owner(key)
        if fromPeer || owner == nil || owner == view.selfAddress {
            do {
                try cg.group.store.set(key, value, ttl: ttl)
                _ = try? cg.hot.store.delete(key)
            } catch {
                return .now(.failure(NodeError(error)))
            }
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
                    ByteBuffer(string: String(ttlArg)), PeerCommand.peerFlag]
        return .later(peer.call(args, on: loop).flatMapThrowing { reply in
            try Self.expectOK(reply, owner: owner)
        }.flatMapError { error in
            loop.makeFailedFuture(Self.writeError(error, owner: owner))
        }.flatMap { [self] in
            invalidate(cg, key, view: view, except: owner, on: loop)
        })
    }

    /// Deletes `key` at its owner, then has every other member drop its copy;
    /// whether the owner had it.
    func delete(_ cg: ClusterGroup, _ key: [UInt8], fromPeer: Bool, on loop: any EventLoop) -> EventLoopFuture<Bool> {
        let view = self.view
        let owner = view.owner(key)
        if fromPeer || owner == nil || owner == view.selfAddress {
            let removed: Bool
            do {
                removed = try cg.group.store.delete(key)
                _ = try? cg.hot.store.delete(key)
            } catch {
                return loop.makeFailedFuture(NodeError(error))
            }
            if fromPeer { return loop.makeSucceededFuture(removed) }
            return invalidate(cg, key, view: view, except: view.selfAddress, on: loop).map { removed }
        }
        guard let owner, let peer = view.peers[owner] else {
            return loop.makeFailedFuture(NodeError(.internal, "ERR no client for owner \(owner ?? "?")"))
        }
        let args = [PeerCommand.del, ByteBuffer(string: cg.name), ByteBuffer(bytes: key), PeerCommand.peerFlag]
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

    /// Drops this node's copies of a key it does not own (hot tier, and a copy a
    /// fallback load left in the main cache).
    func drop(_ cg: ClusterGroup, _ key: [UInt8]) {
        _ = try? cg.hot.store.delete(key)
        if view.owner(key) != view.selfAddress { _ = try? cg.group.store.delete(key) }
    }

    /// Drops `key` here and has every member except `owner` drop it, waiting for all
    /// of them. A member that cannot be reached is skipped (it is down or being
    /// removed; its hot copies expire within ``NodeConfiguration/hotMaxTTLMilliseconds``).
    private func invalidate(_ cg: ClusterGroup, _ key: [UInt8], view: RingView, except owner: String,
                            on loop: any EventLoop) -> EventLoopFuture<Void> {
        if owner != view.selfAddress { drop(cg, key) }
        let others = view.peers.filter { $0.key != owner }
        guard !others.isEmpty else { return loop.makeSucceededVoidFuture() }
        let args = [PeerCommand.drop, ByteBuffer(string: cg.name), ByteBuffer(bytes: key)]
        let calls = others.map { address, peer in
            peer.call(args, on: loop).map { reply in
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

    private static func writeError(_ error: any Error, owner: String) -> any Error {
        if let e = error as? PeerError, e.isTransport {
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
