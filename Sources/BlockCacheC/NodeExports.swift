public import CBlockCacheABI
import BlockCache
import BlockCacheCluster
import NIOCore
import NIOPosix

// MARK: - Node

/// What a bc_node handle points to: the node and its address as a C string.
final class NodeHandle {
    let node: Node
    let cAddress: UnsafeMutablePointer<CChar>

    init(node: Node) {
        self.node = node
        cAddress = allocatedCString(node.address) ?? UnsafeMutablePointer(mutating: cString(""))
    }

    deinit {
        if cAddress[0] != 0 { Allocator.free(cAddress) }
    }
}

typealias NodeRef = Unmanaged<NodeHandle>

@inline(__always)
func nodeRef(_ n: OpaquePointer) -> NodeRef { NodeRef.fromOpaque(UnsafeRawPointer(n)) }

@inline(__always)
func nodeOf(_ n: OpaquePointer) -> Node { nodeRef(n)._withUnsafeGuaranteedRef { $0.node } }

func strings(_ p: UnsafePointer<UnsafePointer<CChar>?>?, _ n: UInt, _ what: String) throws(CacheError) -> [String] {
    guard n > 0 else { return [] }
    guard let p else { throw CacheError(.invalidArgument, "\(what) is NULL but its count is \(n)") }
    var out: [String] = []
    for i in 0..<Int(n) {
        guard let s = p[i] else { throw CacheError(.invalidArgument, "\(what)[\(i)] is NULL") }
        out.append(String(cString: s))
    }
    return out
}

@_cdecl("bc_node_options_init")
public func bc_node_options_init(_ o: UnsafeMutablePointer<bc_node_options>?) {
    guard let o else { return }
    o.pointee = bc_node_options()
    o.pointee.struct_size = UInt32(MemoryLayout<bc_node_options>.size)
    o.pointee.tls_verify_hostnames = 1
}

func nodeConfiguration(_ o: bc_node_options) throws(CacheError) -> NodeConfiguration {
    guard o.struct_size >= UInt32(MemoryLayout<bc_node_options>.size) else {
        throw CacheError(.invalidArgument, "options struct_size is \(o.struct_size), expected at least \(MemoryLayout<bc_node_options>.size); fill the struct with bc_node_options_init first")
    }
    var c = NodeConfiguration()
    if let h = o.host { c.host = String(cString: h) }
    guard (0...65_535).contains(o.port) else { throw CacheError(.invalidArgument, "port must be 0...65535; got \(o.port)") }
    c.port = Int(o.port)
    c.advertisedAddress = o.advertise.map { String(cString: $0) }
    c.defaultGroup = o.default_group.map { String(cString: $0) }
    c.peers = try strings(o.peers, UInt(o.peer_count), "peers")
    c.etcdEndpoints = try strings(o.etcd_endpoints, UInt(o.etcd_endpoint_count), "etcd_endpoints")
    if let p = o.etcd_prefix { c.etcdPrefix = String(cString: p) }
    guard o.etcd_lease_ttl_s >= 0 else { throw CacheError(.invalidArgument, "etcd_lease_ttl_s must be >= 0") }
    if o.etcd_lease_ttl_s > 0 { c.etcdLeaseTTLSeconds = Int(o.etcd_lease_ttl_s) }
    c.password = o.password.map { String(cString: $0) }
    guard o.peer_timeout_ms >= 0, o.breaker_backoff_ms >= 0 else {
        throw CacheError(.invalidArgument, "peer_timeout_ms and breaker_backoff_ms must be >= 0")
    }
    if o.peer_timeout_ms > 0 { c.peerTimeoutMilliseconds = o.peer_timeout_ms }
    if o.breaker_backoff_ms > 0 { c.breakerBackoffMilliseconds = o.breaker_backoff_ms }
    if o.max_frame_bytes > 0 {
        guard o.max_frame_bytes <= UInt64(Int32.max) else { throw CacheError(.invalidArgument, "max_frame_bytes must be < 2 GiB") }
        c.limits.maxFrameBytes = Int(o.max_frame_bytes)
        c.limits.maxBulkBytes = min(c.limits.maxBulkBytes, c.limits.maxFrameBytes)
    }
    if o.max_value_bytes > 0 { c.maxValueBytes = Int(min(o.max_value_bytes, UInt64(Int32.max))) }
    if o.event_loop_threads > 0 { c.eventLoopThreads = Int(o.event_loop_threads) }
    if o.loader_threads > 0 { c.loaderThreads = Int(o.loader_threads) }
    switch (o.tls_cert_file, o.tls_key_file) {
    case (let cert?, let key?):
        let certs: TLSSettings.ClientCertificates
        switch o.tls_client_certs {
        case BC_TLS_CLIENT_CERTS_NONE: certs = .none
        case BC_TLS_CLIENT_CERTS_PEERS: certs = .peers
        case BC_TLS_CLIENT_CERTS_ALL: certs = .all
        default:
            throw CacheError(.invalidArgument, "tls_client_certs must be a BC_TLS_CLIENT_CERTS_* value; got \(o.tls_client_certs)")
        }
        c.tls = TLSSettings(certificatePath: String(cString: cert), privateKeyPath: String(cString: key),
                            caPath: o.tls_ca_file.map { String(cString: $0) }, clientCertificates: certs,
                            verifyHostnames: o.tls_verify_hostnames != 0)
    case (nil, nil):
        guard o.tls_ca_file == nil, o.tls_client_certs == 0 else {
            throw CacheError(.invalidArgument, "tls_ca_file and tls_client_certs need tls_cert_file and tls_key_file")
        }
    default:
        throw CacheError(.invalidArgument, "tls_cert_file and tls_key_file go together")
    }
    if o.etcd_tls_ca_file != nil || o.etcd_tls_cert_file != nil || o.etcd_tls_key_file != nil {
        c.etcdTLS = TLSClientSettings(caPath: o.etcd_tls_ca_file.map { String(cString: $0) },
                                      certificatePath: o.etcd_tls_cert_file.map { String(cString: $0) },
                                      privateKeyPath: o.etcd_tls_key_file.map { String(cString: $0) })
    }
    return c
}

@_cdecl("bc_node_start")
public func bc_node_start(_ o: UnsafePointer<bc_node_options>?, _ groups: UnsafePointer<OpaquePointer?>?,
                          _ groupCount: UInt, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return misuse("bc_node_start", "out is NULL") }
    out.pointee = nil
    guard let o else { return misuse("bc_node_start", "options are NULL") }
    guard let groups else { return misuse("bc_node_start", "groups is NULL") }
    return call("bc_node_start") { () throws(CacheError) in
        let config = try nodeConfiguration(o.pointee)
        var list: [Group] = []
        for i in 0..<Int(groupCount) {
            guard let g = groups[i] else { throw CacheError(.misuse, "groups[\(i)] is NULL") }
            list.append(groupRef(g)._withUnsafeGuaranteedRef { $0.group })
        }
        let node = try Node(configuration: config, groups: list)
        try node.start()
        out.pointee = OpaquePointer(NodeRef.passRetained(NodeHandle(node: node)).toOpaque())
        return BC_OK
    }
}

@_cdecl("bc_node_stop")
public func bc_node_stop(_ n: OpaquePointer?) {
    guard let n else { return }
    let ref = nodeRef(n)
    ref._withUnsafeGuaranteedRef { $0.node.stop() }
    ref.release()
}

@_cdecl("bc_node_address")
public func bc_node_address(_ n: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let n else { return nil }
    return nodeRef(n)._withUnsafeGuaranteedRef { UnsafePointer($0.cAddress) }
}

@_cdecl("bc_node_set_peers")
public func bc_node_set_peers(_ n: OpaquePointer?, _ peers: UnsafePointer<UnsafePointer<CChar>?>?, _ count: UInt) -> Int32 {
    guard let n else { return misuse("bc_node_set_peers", "node is NULL") }
    return call("bc_node_set_peers") { () throws(CacheError) in
        let list = try strings(peers, count, "peers")
        try nodeRef(n)._withUnsafeGuaranteedRef { h in Result { () throws(CacheError) in try h.node.setPeers(list) } }.get()
        return BC_OK
    }
}

@_cdecl("bc_node_members")
public func bc_node_members(_ n: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let out else { return misuse("bc_node_members", "out is NULL") }
    out.pointee = nil
    guard let n else { return misuse("bc_node_members", "node is NULL") }
    let text = nodeRef(n)._withUnsafeGuaranteedRef { $0.node.members.joined(separator: "\n") }
    guard let s = allocatedCString(text) else {
        setError(BC_NO_MEMORY, "bc_node_members: out of memory")
        return BC_NO_MEMORY
    }
    out.pointee = s
    return BC_OK
}

/// The group name argument: NULL = the node's default group.
func groupName(_ node: Node, _ g: UnsafePointer<CChar>?) -> String {
    g.map { String(cString: $0) } ?? (node.configuration.defaultGroup ?? node.groupNames().first ?? "")
}

func allocatedCopy(_ bytes: [UInt8]) throws(CacheError) -> UnsafeMutableRawBufferPointer {
    guard let p = Allocator.allocate(bytes.count) else {
        throw CacheError(.noMemory, "out of memory copying a \(bytes.count)-byte value")
    }
    bytes.withUnsafeBytes { if $0.count > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
    return UnsafeMutableRawBufferPointer(start: p, count: bytes.count)
}

@_cdecl("bc_node_get")
public func bc_node_get(_ n: OpaquePointer?, _ g: UnsafePointer<CChar>?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                        _ val: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                        _ valLen: UnsafeMutablePointer<UInt>?) -> Int32 {
    returnCopy("bc_node_get", val, valLen) { () throws(CacheError) in
        guard let n else { throw CacheError(.misuse, "node is NULL") }
        let kb = Array(try key(k, kLen))
        let node = nodeOf(n)
        guard let v = try node.get(group: groupName(node, g), key: kb) else { return nil }
        return try allocatedCopy(v.bytes)
    }
}

@_cdecl("bc_node_set")
public func bc_node_set(_ n: OpaquePointer?, _ g: UnsafePointer<CChar>?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                        _ v: UnsafeRawPointer?, _ vLen: UInt, _ ttlMs: Int64) -> Int32 {
    guard let n else { return misuse("bc_node_set", "node is NULL") }
    return call("bc_node_set") { () throws(CacheError) in
        let kb = Array(try key(k, kLen)), vb = Array(try value(v, vLen))
        let t = try ttl(ttlMs)
        let node = nodeOf(n)
        try node.set(group: groupName(node, g), key: kb, value: vb, ttl: t)
        return BC_OK
    }
}

@_cdecl("bc_node_delete")
public func bc_node_delete(_ n: OpaquePointer?, _ g: UnsafePointer<CChar>?, _ k: UnsafeRawPointer?, _ kLen: UInt) -> Int32 {
    guard let n else { return misuse("bc_node_delete", "node is NULL") }
    return call("bc_node_delete") { () throws(CacheError) in
        let kb = Array(try key(k, kLen))
        let node = nodeOf(n)
        guard try node.delete(group: groupName(node, g), key: kb) else {
            setError(BC_NOT_FOUND, "bc_node_delete: key not found")
            return BC_NOT_FOUND
        }
        return BC_OK
    }
}

// MARK: - Peer client

/// What a bc_peer handle points to: a client and the event loop it runs on.
final class PeerHandle {
    let loop: MultiThreadedEventLoopGroup
    let client: PeerClient

    init(loop: MultiThreadedEventLoopGroup, client: PeerClient) {
        self.loop = loop
        self.client = client
    }

    deinit {
        client.close()
        try? loop.syncShutdownGracefully()
    }
}

typealias PeerRef = Unmanaged<PeerHandle>

@inline(__always)
func peerClient(_ p: OpaquePointer) -> PeerClient {
    PeerRef.fromOpaque(UnsafeRawPointer(p))._withUnsafeGuaranteedRef { $0.client }
}

@_cdecl("bc_peer_options_init")
public func bc_peer_options_init(_ o: UnsafeMutablePointer<bc_peer_options>?) {
    guard let o else { return }
    o.pointee = bc_peer_options()
    o.pointee.struct_size = UInt32(MemoryLayout<bc_peer_options>.size)
    o.pointee.tls_verify_hostnames = 1
}

@_cdecl("bc_peer_new")
public func bc_peer_new(_ address: UnsafePointer<CChar>?, _ o: UnsafePointer<bc_peer_options>?,
                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return misuse("bc_peer_new", "out is NULL") }
    out.pointee = nil
    guard let address else { return misuse("bc_peer_new", "address is NULL") }
    return call("bc_peer_new") { () throws(CacheError) in
        var options = PeerClient.Options()
        options.connections = 1
        if let o {
            let opts = o.pointee
            guard opts.struct_size >= UInt32(MemoryLayout<bc_peer_options>.size) else {
                throw CacheError(.invalidArgument, "options struct_size is \(opts.struct_size), expected at least \(MemoryLayout<bc_peer_options>.size); fill the struct with bc_peer_options_init first")
            }
            guard opts.timeout_ms >= 0, opts.breaker_backoff_ms >= 0 else {
                throw CacheError(.invalidArgument, "timeout_ms and breaker_backoff_ms must be >= 0")
            }
            if opts.timeout_ms > 0 { options.timeoutMilliseconds = opts.timeout_ms }
            if opts.breaker_backoff_ms > 0 { options.breakerBackoffMilliseconds = opts.breaker_backoff_ms }
            if opts.connections > 0 { options.connections = Int(min(opts.connections, 64)) }
            options.password = opts.password.map { String(cString: $0) }
            if opts.tls != 0 {
                options.tls = TLSClientSettings(
                    caPath: opts.tls_ca_file.map { String(cString: $0) },
                    certificatePath: opts.tls_cert_file.map { String(cString: $0) },
                    privateKeyPath: opts.tls_key_file.map { String(cString: $0) },
                    serverName: opts.tls_server_name.map { String(cString: $0) },
                    verifyHostnames: opts.tls_verify_hostnames != 0)
            } else if opts.tls_ca_file != nil || opts.tls_cert_file != nil || opts.tls_server_name != nil {
                throw CacheError(.invalidArgument, "tls_ca_file, tls_cert_file and tls_server_name need tls = 1")
            }
        }
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let made = Result { () throws(CacheError) in
            try PeerClient(address: String(cString: address), options: options, eventLoopGroup: loop)
        }
        guard case .success(let client) = made else {
            try? loop.syncShutdownGracefully()
            return try made.map { _ in BC_OK }.get()
        }
        out.pointee = OpaquePointer(PeerRef.passRetained(PeerHandle(loop: loop, client: client)).toOpaque())
        return BC_OK
    }
}

@_cdecl("bc_peer_free")
public func bc_peer_free(_ p: OpaquePointer?) {
    guard let p else { return }
    PeerRef.fromOpaque(UnsafeRawPointer(p)).release()
}

/// Waits for a peer call, mapping its failure to a CacheError.
func waitPeer<T>(_ f: EventLoopFuture<T>) throws(CacheError) -> T {
    do {
        return try f.wait()
    } catch let e as CacheError {
        throw e
    } catch let e as PeerError {
        throw CacheError(.unavailable, e.description)
    } catch let e as NodeError {
        throw CacheError(e.code == .notFound ? .notFound : .unavailable, e.reply)
    } catch {
        throw CacheError(.unavailable, "\(error)")
    }
}

func peerGroup(_ g: UnsafePointer<CChar>?) throws(CacheError) -> String {
    guard let g else { throw CacheError(.invalidArgument, "group is NULL") }
    return String(cString: g)
}

@_cdecl("bc_peer_get")
public func bc_peer_get(_ p: OpaquePointer?, _ g: UnsafePointer<CChar>?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                        _ val: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                        _ valLen: UnsafeMutablePointer<UInt>?, _ ttlOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    returnCopy("bc_peer_get", val, valLen) { () throws(CacheError) in
        guard let p else { throw CacheError(.misuse, "peer is NULL") }
        let kb = Array(try key(k, kLen))
        let group = try peerGroup(g)
        let client = peerClient(p)
        guard let v = try waitPeer(client.get(group: group, key: kb)) else { return nil }
        if let ttlOut {
            if case .milliseconds(let ms) = v.ttl { ttlOut.pointee = ms } else { ttlOut.pointee = BC_TTL_NEVER_VALUE }
        }
        return try allocatedCopy(v.bytes)
    }
}

@_cdecl("bc_peer_set")
public func bc_peer_set(_ p: OpaquePointer?, _ g: UnsafePointer<CChar>?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                        _ v: UnsafeRawPointer?, _ vLen: UInt, _ ttlMs: Int64) -> Int32 {
    guard let p else { return misuse("bc_peer_set", "peer is NULL") }
    return call("bc_peer_set") { () throws(CacheError) in
        let kb = Array(try key(k, kLen)), vb = Array(try value(v, vLen))
        let t = try ttl(ttlMs)
        let group = try peerGroup(g)
        let client = peerClient(p)
        try waitPeer(client.set(group: group, key: kb, value: vb, ttl: t))
        return BC_OK
    }
}

@_cdecl("bc_peer_delete")
public func bc_peer_delete(_ p: OpaquePointer?, _ g: UnsafePointer<CChar>?, _ k: UnsafeRawPointer?, _ kLen: UInt) -> Int32 {
    guard let p else { return misuse("bc_peer_delete", "peer is NULL") }
    return call("bc_peer_delete") { () throws(CacheError) in
        let kb = Array(try key(k, kLen))
        let group = try peerGroup(g)
        let client = peerClient(p)
        guard try waitPeer(client.delete(group: group, key: kb)) else {
            setError(BC_NOT_FOUND, "bc_peer_delete: key not found")
            return BC_NOT_FOUND
        }
        return BC_OK
    }
}
