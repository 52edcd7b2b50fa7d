public import CBlockCacheABI
import BlockCache
import Synchronization

/// What a bc_group handle points to: the engine group and its C name.
final class GroupHandle {
    let group: Group
    let cName: UnsafeMutablePointer<CChar>

    init(group: Group) {
        self.group = group
        cName = allocatedCString(group.name) ?? UnsafeMutablePointer(mutating: cString(""))
    }

    deinit {
        if cName[0] != 0 { Allocator.free(cName) }
    }
}

typealias GroupRef = Unmanaged<GroupHandle>

@inline(__always)
func groupRef(_ g: OpaquePointer) -> GroupRef { GroupRef.fromOpaque(UnsafeRawPointer(g)) }

/// The bc_sink a C loader writes its result to; valid during one loader call.
final class Sink: @unchecked Sendable {
    // Written only by the loader's thread during its call.
    var value: [UInt8]?
    var ttl: TTL = .default
    var error: String?
}

/// The sinks of loader calls in progress, by token. A bc_sink* is a token, never the
/// address of an object: a stale one (kept past its loader call) finds nothing here
/// and gets BC_MISUSE instead of touching freed memory. Tokens are never reused.
enum LiveSinks {
    private static let sinks = Mutex<[UInt: Sink]>([:])
    private static let nextToken = Atomic<UInt>(1)

    static func register(_ sink: Sink) -> UInt {
        let token = nextToken.add(1, ordering: .relaxed).oldValue
        sinks.withLock { $0[token] = sink }
        return token
    }

    static func unregister(_ token: UInt) {
        _ = sinks.withLock { $0.removeValue(forKey: token) }
    }

    static func lookup(_ p: OpaquePointer?) throws(CacheError) -> Sink {
        guard let p else { throw CacheError(.misuse, "sink is NULL") }
        let token = UInt(bitPattern: UnsafeRawPointer(p))
        guard let sink = sinks.withLock({ $0[token] }) else {
            throw CacheError(.misuse, "sink used outside the loader call that received it")
        }
        return sink
    }
}

/// A C loader and its user data as an engine loader.
struct CLoader: @unchecked Sendable {
    // user_data is the caller's; the header makes them keep it alive and thread-safe.
    let function: bc_loader_fn
    let userData: UnsafeMutableRawPointer?

    func load(_ key: [UInt8]) throws -> LoadedValue? {
        let sink = Sink()
        let token = LiveSinks.register(sink)
        let rc = key.withUnsafeBytes { k in
            function(userData, k.baseAddress, k.count, OpaquePointer(bitPattern: token))
        }
        LiveSinks.unregister(token)
        switch rc {
        case BC_OK:
            guard let value = sink.value else {
                throw CacheError(.loaderFailed, "loader returned BC_OK without calling bc_sink_set_value")
            }
            return LoadedValue(value, ttl: sink.ttl)
        case BC_NOT_FOUND:
            return nil
        default:
            let reason = sink.error ?? String(cString: bc_strerror(rc))
            throw CacheError(.loaderFailed, "loader failed (status \(rc)): \(reason)")
        }
    }
}

@_cdecl("bc_sink_set_value")
public func bc_sink_set_value(_ sink: OpaquePointer?, _ v: UnsafeRawPointer?, _ vLen: UInt) -> Int32 {
    call("bc_sink_set_value") { () throws(CacheError) in
        let s = try LiveSinks.lookup(sink)
        s.value = Array(try value(v, vLen))
        return BC_OK
    }
}

@_cdecl("bc_sink_set_ttl")
public func bc_sink_set_ttl(_ sink: OpaquePointer?, _ ttlMs: Int64) -> Int32 {
    call("bc_sink_set_ttl") { () throws(CacheError) in
        let s = try LiveSinks.lookup(sink)
        s.ttl = try ttl(ttlMs)
        return BC_OK
    }
}

@_cdecl("bc_sink_set_error")
public func bc_sink_set_error(_ sink: OpaquePointer?, _ message: UnsafePointer<CChar>?) -> Int32 {
    call("bc_sink_set_error") { () throws(CacheError) in
        let s = try LiveSinks.lookup(sink)
        s.error = message.map { String(cString: $0) } ?? "(no message)"
        return BC_OK
    }
}

@_cdecl("bc_group_options_init")
public func bc_group_options_init(_ o: UnsafeMutablePointer<bc_group_options>?) {
    guard let o else { return }
    o.pointee = bc_group_options()
    o.pointee.struct_size = UInt32(MemoryLayout<bc_group_options>.size)
}

@_cdecl("bc_group_new")
public func bc_group_new(_ o: UnsafePointer<bc_group_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return misuse("bc_group_new", "out is NULL") }
    out.pointee = nil
    guard let o else { return misuse("bc_group_new", "options are NULL") }
    return call("bc_group_new") { () throws(CacheError) in
        let opts = o.pointee
        guard opts.struct_size >= UInt32(MemoryLayout<bc_group_options>.size) else {
            throw CacheError(.invalidArgument, "options struct_size is \(opts.struct_size), expected at least \(MemoryLayout<bc_group_options>.size); fill the struct with bc_group_options_init first")
        }
        guard let namePointer = opts.name else { throw CacheError(.invalidArgument, "name is NULL") }
        guard let function = opts.loader else { throw CacheError(.invalidArgument, "loader is NULL") }
        let config = try configuration(opts.store)
        let loader = CLoader(function: function, userData: opts.user_data)
        let group = try Group(name: string(namePointer), configuration: config) { key in try loader.load(key) }
        out.pointee = OpaquePointer(GroupRef.passRetained(GroupHandle(group: group)).toOpaque())
        return BC_OK
    }
}

@_cdecl("bc_group_free")
public func bc_group_free(_ g: OpaquePointer?) {
    guard let g else { return }
    groupRef(g).release()
}

@_cdecl("bc_group_get")
public func bc_group_get(_ g: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                         _ val: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                         _ valLen: UnsafeMutablePointer<UInt>?) -> Int32
{
    returnCopy("bc_group_get", val, valLen) { () throws(CacheError) in
        guard let g else { throw CacheError(.misuse, "group is NULL") }
        let kb = try key(k, kLen)
        return try groupRef(g)._withUnsafeGuaranteedRef { h in
            Result { () throws(CacheError) in try h.group.copyValue(forKey: kb) }
        }.get()
    }
}

@_cdecl("bc_group_set")
public func bc_group_set(_ g: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                         _ v: UnsafeRawPointer?, _ vLen: UInt, _ ttlMs: Int64) -> Int32
{
    guard let g else { return misuse("bc_group_set", "group is NULL") }
    return groupRef(g)._withUnsafeGuaranteedRef { h in
        setValue("bc_group_set", k, kLen, v, vLen, ttlMs) { (k, v, t) throws(CacheError) in try h.group.set(k, v, ttl: t) }
    }
}

@_cdecl("bc_group_delete")
public func bc_group_delete(_ g: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt) -> Int32 {
    guard let g else { return misuse("bc_group_delete", "group is NULL") }
    return groupRef(g)._withUnsafeGuaranteedRef { h in
        deleteValue("bc_group_delete", k, kLen) { (k) throws(CacheError) in try h.group.delete(k) }
    }
}

@_cdecl("bc_group_name")
public func bc_group_name(_ g: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let g else { return nil }
    return groupRef(g)._withUnsafeGuaranteedRef { UnsafePointer($0.cName) }
}

@_cdecl("bc_group_get_stats")
public func bc_group_get_stats(_ g: OpaquePointer?, _ out: UnsafeMutablePointer<bc_group_stats>?, _ size: UInt) -> Int32 {
    guard let g else { return misuse("bc_group_get_stats", "group is NULL") }
    guard let out else { return misuse("bc_group_get_stats", "out is NULL") }
    let s = groupRef(g)._withUnsafeGuaranteedRef { $0.group.stats() }
    var c = bc_group_stats()
    c.gets = s.gets
    c.hits = s.hits
    c.misses = s.misses
    c.loads = s.loads
    c.loads_deduplicated = s.loadsDeduplicated
    c.loader_errors = s.loaderErrors
    c.loader_not_found = s.loaderNotFound
    copyOut(c, to: UnsafeMutableRawPointer(out), size: size)
    return BC_OK
}

@_cdecl("bc_group_get_store_stats")
public func bc_group_get_store_stats(_ g: OpaquePointer?, _ out: UnsafeMutablePointer<bc_store_stats>?, _ size: UInt) -> Int32 {
    guard let g else { return misuse("bc_group_get_store_stats", "group is NULL") }
    guard let out else { return misuse("bc_group_get_store_stats", "out is NULL") }
    return groupRef(g)._withUnsafeGuaranteedRef { returnStats(of: $0.group.store, out, size) }
}

// MARK: - Ring

/// What a bc_ring handle points to: a ring behind a lock (the header promises
/// concurrent use of one handle).
final class RingHandle: Sendable {
    let ring: Mutex<HashRing>
    init(_ ring: HashRing) { self.ring = Mutex(ring) }
}

typealias RingRef = Unmanaged<RingHandle>

@inline(__always)
func ringRef(_ r: OpaquePointer) -> RingRef { RingRef.fromOpaque(UnsafeRawPointer(r)) }

@_cdecl("bc_ring_new")
public func bc_ring_new(_ virtualNodes: UInt32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return misuse("bc_ring_new", "out is NULL") }
    out.pointee = nil
    return call("bc_ring_new") { () throws(CacheError) in
        let ring = try HashRing(virtualNodes: virtualNodes == 0 ? HashRing.defaultVirtualNodes : Int(virtualNodes))
        out.pointee = OpaquePointer(RingRef.passRetained(RingHandle(ring)).toOpaque())
        return BC_OK
    }
}

@_cdecl("bc_ring_free")
public func bc_ring_free(_ r: OpaquePointer?) {
    guard let r else { return }
    ringRef(r).release()
}

@_cdecl("bc_ring_add")
public func bc_ring_add(_ r: OpaquePointer?, _ node: UnsafePointer<CChar>?, _ weight: UInt32) -> Int32 {
    guard let r else { return misuse("bc_ring_add", "ring is NULL") }
    return call("bc_ring_add") { () throws(CacheError) in
        guard let node else { throw CacheError(.invalidArgument, "node is NULL") }
        let name = string(node)
        try ringRef(r)._withUnsafeGuaranteedRef { h in
            h.ring.withLock { ring in Result { () throws(CacheError) in try ring.add(name, weight: Int(weight)) } }
        }.get()
        return BC_OK
    }
}

@_cdecl("bc_ring_remove")
public func bc_ring_remove(_ r: OpaquePointer?, _ node: UnsafePointer<CChar>?) -> Int32 {
    guard let r else { return misuse("bc_ring_remove", "ring is NULL") }
    return call("bc_ring_remove") { () throws(CacheError) in
        guard let node else { throw CacheError(.invalidArgument, "node is NULL") }
        let name = string(node)
        let removed = ringRef(r)._withUnsafeGuaranteedRef { h in h.ring.withLock { $0.remove(name) } }
        guard removed else { throw CacheError(.notFound, "no node named '\(name)' on the ring") }
        return BC_OK
    }
}

@_cdecl("bc_ring_node_count")
public func bc_ring_node_count(_ r: OpaquePointer?) -> UInt32 {
    guard let r else { return 0 }
    return ringRef(r)._withUnsafeGuaranteedRef { h in h.ring.withLock { UInt32($0.nodes.count) } }
}

@_cdecl("bc_ring_lookup")
public func bc_ring_lookup(_ r: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                           _ node: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
{
    guard let node else { return misuse("bc_ring_lookup", "node is NULL") }
    node.pointee = nil
    guard let r else { return misuse("bc_ring_lookup", "ring is NULL") }
    return call("bc_ring_lookup") { () throws(CacheError) in
        let kb = try key(k, kLen)
        let owner = ringRef(r)._withUnsafeGuaranteedRef { h in h.ring.withLock { $0.node(for: kb) } }
        guard let owner else { throw CacheError(.notFound, "the ring has no nodes") }
        guard let copy = allocatedCString(owner) else { throw CacheError(.noMemory, "out of memory copying a node name") }
        node.pointee = copy
        return BC_OK
    }
}
