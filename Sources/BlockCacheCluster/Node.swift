public import BlockCache
import BlockCacheRESP
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One member of a BlockCache cluster: a RESP server over the node's groups, a ring
/// of the members (itself included) that names each key's owner, pooled pipelined
/// clients to the other members, and a hot tier per group.
///
/// Reads: the owner of a key answers from its cache or loads it (group loader +
/// singleflight) and never forwards. A non-owner answers from its hot tier or asks
/// the owner; if the owner cannot be reached it loads the key itself, and the
/// owner's circuit breaker keeps further calls from waiting on it.
/// Writes: set and delete go to the owner; then every other member drops its copy;
/// then the call returns.
///
/// Thread safety: every method may be called from any thread.
public final class Node: @unchecked Sendable {
    public static let version = "0.4.0"

    public let configuration: NodeConfiguration
    let groups: [String: ClusterGroup]
    let defaultGroup: ClusterGroup
    let eventLoopGroup: MultiThreadedEventLoopGroup
    let loaderPool: NIOThreadPool
    /// One thread for membership changes (name resolution, ring builds), so that
    /// neither an event loop nor a busy loader pool is held up by one.
    let membershipPool = NIOThreadPool(numberOfThreads: 1)
    let startedAt = NIODeadline.now()
    let log: @Sendable (String) -> Void
    /// TLS contexts, made once from ``NodeConfiguration/tls``: the server's and the one
    /// used to reach peers.
    let serverSSLContext: NIOSSLContext?
    let peerSSLContext: NIOSSLContext?
    /// The etcd client, made in init (so that bad etcd TLS files fail there); nil without etcd.
    let etcd: EtcdClient?

    private let state = NIOLockedValueBox(State())
    /// Members whose breaker is open here: this node may be missing their invalidations.
    private let outOfContact = NIOLockedValueBox<Set<String>>([])
    /// Whether hot copies may be served and kept: only while every member is in
    /// contact (no breaker open). A node that cannot reach a member may have missed
    /// its `BC.DROP`s, so it drops its hot copies when contact is lost and again when
    /// it is back, and serves none in between (it asks the owners).
    let hotTierUsable = Atomic<Bool>(true)
    /// Set when a peer's breaker first opens (see ``heard(from:)``).
    private let breakerEverOpened = Atomic<Bool>(false)
    /// Held for a whole ring rebuild (never by a request), so rebuilds run one at a time.
    private let rebuilding = NIOLock()
    private struct State {
        var view = RingView.empty
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var address: String = ""
        /// Ring names that are this node (see ``MemberNames``); the first is its own.
        var selfName: String = ""
        var selfNames: Set<String> = []
        var staticPeers: [String] = []
        var discovered: [String]?
        var membership: EtcdMembership?
        var stopped = false
    }

    let connectionsAccepted = Atomic<UInt64>(0)
    let commandsProcessed = Atomic<UInt64>(0)
    let protocolErrors = Atomic<UInt64>(0)
    /// Connections closed because they sent an HTTP request (cross-protocol attack).
    let crossProtocolClosed = Atomic<UInt64>(0)

    /// - Throws: `.invalidArgument` without groups, with two groups of one name, a
    ///   default group that is not among them, a bad peer address, or TLS files that
    ///   cannot be read or do not match.
    public init(configuration: NodeConfiguration, groups: [Group],
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(CacheError) {
        guard !groups.isEmpty else { throw CacheError(.invalidArgument, "a node needs at least one group") }
        var byName: [String: ClusterGroup] = [:]
        for g in groups {
            guard byName[g.name] == nil else { throw CacheError(.invalidArgument, "two groups named '\(g.name)'") }
            byName[g.name] = try ClusterGroup(g, configuration)
        }
        let defaultName = configuration.defaultGroup ?? groups[0].name
        guard let d = byName[defaultName] else {
            throw CacheError(.invalidArgument, "default group '\(defaultName)' is not one of the node's groups")
        }
        guard configuration.maxKeyBytes >= 1, configuration.maxKeyBytes <= Store.maxKeyLength else {
            throw CacheError(.invalidArgument, "max key bytes must be 1...\(Store.maxKeyLength)")
        }
        guard configuration.peerTimeoutMilliseconds > 0, configuration.breakerBackoffMilliseconds > 0 else {
            throw CacheError(.invalidArgument, "peer timeout and breaker backoff must be > 0 ms")
        }
        try Self.checkThreads(configuration)
        guard configuration.loadTimeoutMilliseconds > 0 else {
            throw CacheError(.invalidArgument, "load timeout must be > 0 ms")
        }
        guard configuration.hotMaxTTLMilliseconds > 0 else {
            throw CacheError(.invalidArgument, "hot max age must be > 0 ms")
        }
        if configuration.etcdTLS != nil, !configuration.etcdEndpoints.contains(where: { $0.hasPrefix("https://") }) {
            throw CacheError(.invalidArgument, "etcd TLS settings need an https:// etcd endpoint")
        }
        for p in configuration.peers where splitHostPort(p) == nil {
            throw CacheError(.invalidArgument, "peer address must be host:port; got '\(p)'")
        }
        if let tls = configuration.tls {
            serverSSLContext = try tls.makeServerContext()
            peerSSLContext = try tls.peerClientSettings.makeContext()
        } else {
            serverSSLContext = nil
            peerSSLContext = nil
        }
        self.configuration = configuration
        self.groups = byName
        defaultGroup = d
        self.log = log
        let threads = configuration.eventLoopThreads > 0 ? configuration.eventLoopThreads : System.coreCount
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        if configuration.etcdEndpoints.isEmpty {
            etcd = nil
        } else {
            do {
                etcd = try EtcdClient(endpoints: configuration.etcdEndpoints, eventLoopGroup: loops,
                                      requestTimeout: .seconds(2), tls: configuration.etcdTLS)
            } catch {
                try? loops.syncShutdownGracefully()
                throw CacheError(.invalidArgument, "etcd: \(error.message)")
            }
        }
        eventLoopGroup = loops
        loaderPool = NIOThreadPool(numberOfThreads: configuration.loaderThreads)
        state.withLockedValue { $0.staticPeers = configuration.peers }
    }

    deinit {
        if !state.withLockedValue({ $0.stopped }) { stop() }
    }

    /// Most event-loop and loader threads a node takes.
    public static let maxThreads = 1024

    /// Thread counts in range, and event loops that fit the open-file limit: each loop
    /// holds a few descriptors (epoll, eventfd, timerfd), and SwiftNIO stops the
    /// process when it cannot make them, so a count that cannot work is refused here.
    static func checkThreads(_ c: NodeConfiguration) throws(CacheError) {
        guard (0...maxThreads).contains(c.eventLoopThreads) else {
            throw CacheError(.invalidArgument, "event-loop threads must be 0 (one per CPU) to \(maxThreads); got \(c.eventLoopThreads)")
        }
        guard (1...maxThreads).contains(c.loaderThreads) else {
            throw CacheError(.invalidArgument, "loader threads must be 1 to \(maxThreads); got \(c.loaderThreads)")
        }
        let loops = c.eventLoopThreads > 0 ? c.eventLoopThreads : System.coreCount
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {  // max: RLIM_INFINITY
            // 4 descriptors a loop, and room for the listener, peers and clients.
            let needed = UInt64(loops) * 4 + 256
            guard needed <= UInt64(limit.rlim_cur) else {
                throw CacheError(.invalidArgument, "\(loops) event-loop threads need about \(needed) open files; the limit (ulimit -n) is \(limit.rlim_cur)")
            }
        }
    }

    // MARK: - Lifecycle

    /// Binds the server, builds the ring and starts etcd membership if configured.
    /// Returns once the node accepts connections.
    /// - Throws: `.invalidArgument` when it cannot bind (the message says why).
    public func start() throws(CacheError) {
        loaderPool.start()
        membershipPool.start()
        let limits = configuration.limits
        let sslContext = serverSSLContext
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPRequestDecoder(limits: limits)),
                        CommandHandler(node: self),
                    ])
                    self.track(channel)
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            stop()
            throw CacheError(.invalidArgument, "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let bound = channel.localAddress?.port ?? configuration.port
        var host = configuration.host
        if host == "0.0.0.0" || host == "::" || host.isEmpty { host = "127.0.0.1" }
        if host.contains(":") { host = "[\(host)]" }
        let address = configuration.advertisedAddress ?? "\(host):\(bound)"
        let selfName = MemberNames.canonical(address)
        let selfNames = MemberNames.selfNames(host: configuration.host, port: bound).union([selfName])
        state.withLockedValue {
            $0.serverChannel = channel
            $0.address = address
            $0.selfName = selfName
            $0.selfNames = selfNames
        }
        rebuildRing()
        if let client = etcd {
            let membership = EtcdMembership(
                client: client, prefix: configuration.etcdPrefix, selfAddress: address,
                leaseTTLSeconds: configuration.etcdLeaseTTLSeconds, eventLoop: eventLoopGroup.next(),
                onMembers: { [weak self] members in self?.discovered(members) }, log: log)
            state.withLockedValue { $0.membership = membership }
            membership.start()
        }
        log("blockcached \(Node.version) listening on \(address)")
    }

    /// The address this node is known by on the ring (`host:port`); empty before start.
    public var address: String { state.withLockedValue { $0.address } }

    /// The members of the ring now, this node included, sorted.
    public var members: [String] { state.withLockedValue { $0.view.members } }

    /// Replaces the static peer list (this node's own address may be in it).
    /// With etcd configured, etcd's members are added to it.
    /// - Throws: `.invalidArgument` for an address that is not host:port.
    public func setPeers(_ peers: [String]) throws(CacheError) {
        for p in peers where splitHostPort(p) == nil {
            throw CacheError(.invalidArgument, "peer address must be host:port; got '\(p)'")
        }
        state.withLockedValue { $0.staticPeers = peers }
        rebuildRing()
    }

    /// Replaces the static peer list like ``setPeers(_:)``, with the ring rebuilt on
    /// the membership thread (for callers on an event loop: `BC.SETPEERS`).
    func setPeers(_ peers: [String], on loop: any EventLoop) -> EventLoopFuture<Void> {
        for p in peers where splitHostPort(p) == nil {
            return loop.makeFailedFuture(NodeError(.invalidArgument, "ERR peer address must be host:port; got '\(p)'"))
        }
        state.withLockedValue { $0.staticPeers = peers }
        return membershipPool.runIfActive(eventLoop: loop) { [self] in rebuildRing() }
    }

    private func discovered(_ members: [String]) {
        state.withLockedValue { $0.discovered = members }
        membershipPool.submit { [weak self] state in
            if state == .active { self?.rebuildRing() }
        }
    }

    /// Builds a new ring from the static and discovered members and swaps it in;
    /// keeps the clients of members that stay, connects to new members at once, and
    /// closes the clients of members that left.
    /// Names are resolved and the ring is built off the state lock (that every request
    /// takes), one rebuild at a time, so a large membership change stalls no request.
    private func rebuildRing() {
        rebuilding.withLock {
            let input = state.withLockedValue { s -> (names: [String], selfName: String, selfNames: Set<String>)? in
                guard !s.stopped, !s.address.isEmpty else { return nil }
                return (s.staticPeers + (s.discovered ?? []), s.selfName, s.selfNames)
            }
            guard let input else { return }
            // Ring name → the address to dial (the first spelling listed, for TLS names).
            var dial: [String: String] = [:]
            for name in input.names {
                let ringName = MemberNames.canonical(name)
                if input.selfNames.contains(ringName) { continue }
                if dial[ringName] == nil { dial[ringName] = name }
            }
            let members = (Array(dial.keys) + [input.selfName]).sorted()
            guard members != view.members else { return }
            let ring = try! HashRing(members: members)  // names are non-empty, the default virtual-node count valid
            // Clients for new members are made here, off the lock (only rebuilds change
            // the view, and they run one at a time).
            let current = view.peers
            let options = peerOptions
            var peers: [String: PeerClient] = [:]
            var opened: [PeerClient] = []
            for (m, address) in dial {
                if let existing = current[m] {
                    peers[m] = existing
                } else if let client = try? PeerClient(
                    address: address, options: options, sslContext: peerSSLContext, eventLoopGroup: eventLoopGroup,
                    onBreakerChange: { [weak self] open in self?.contact(with: m, lost: open) }) {
                    peers[m] = client
                    opened.append(client)
                }
            }
            let closing = current.filter { peers[$0.key] == nil }
            let swapped: Bool = state.withLockedValue { s in
                guard !s.stopped else { return false }
                s.view = RingView(ring: ring, members: members, peers: peers, selfAddress: input.selfName)
                return true
            }
            guard swapped else { return }
            log("ring: \(members.count <= 16 ? members.joined(separator: ", ") : "\(members.count) members")")
            for c in closing.values { c.close() }
            if !closing.isEmpty { forgetContact(with: Set(closing.keys)) }
            // Ready before the first request needs them; a mass change (a large cluster
            // starting) connects on first use instead of flooding the event loops.
            if opened.count <= Self.eagerConnections { for c in opened { c.connectAll() } }
        }
    }

    /// At most this many new members are connected to as soon as they join.
    static let eagerConnections = 64

    var peerOptions: PeerClient.Options {
        var o = PeerClient.Options()
        o.timeoutMilliseconds = configuration.peerTimeoutMilliseconds
        o.loadTimeoutMilliseconds = configuration.loadTimeoutMilliseconds
        o.connections = configuration.connectionsPerPeer
        o.password = configuration.password
        o.breakerBackoffMilliseconds = configuration.breakerBackoffMilliseconds
        o.breakerMaxBackoffMilliseconds = configuration.breakerMaxBackoffMilliseconds
        o.limits = RESPLimits(maxFrameBytes: configuration.limits.maxFrameBytes,
                              maxBulkBytes: configuration.limits.maxBulkBytes)
        o.tls = configuration.tls?.peerClientSettings
        o.selfName = state.withLockedValue { $0.selfName }
        return o
    }

    var view: RingView { state.withLockedValue { $0.view } }

    /// A member's breaker opened (`lost`) or closed: see ``hotTierUsable``.
    private func contact(with member: String, lost: Bool) {
        if lost { breakerEverOpened.store(true, ordering: .relaxed) }
        updateContact { if lost { $0.insert(member) } else { $0.remove(member) } }
    }

    /// Members that left the ring no longer count as out of contact.
    private func forgetContact(with members: Set<String>) {
        updateContact { $0.subtract(members) }
    }

    /// Applies `change`; when the node goes out of contact with some member, or back in
    /// contact with all, its hot copies go (what was kept while invalidations may have
    /// been missed) and hot-tier use follows. Under the set's lock, so transitions
    /// apply in order.
    private func updateContact(_ change: (inout Set<String>) -> Void) {
        outOfContact.withLockedValue { set in
            let wasUsable = set.isEmpty
            change(&set)
            let usable = set.isEmpty
            guard usable != wasUsable else { return }
            if !usable { hotTierUsable.store(false, ordering: .sequentiallyConsistent) }
            for cg in groups.values { cg.hot.invalidateAll() }
            if usable { hotTierUsable.store(true, ordering: .sequentiallyConsistent) }
            log(usable ? "hot tier on: every member answers again"
                       : "hot tier off: out of contact with \(set.sorted().joined(separator: ", "))")
        }
    }

    /// Members this node cannot reach now (their breaker is open), sorted.
    var membersOutOfContact: [String] { outOfContact.withLockedValue { $0.sorted() } }

    /// A peer (by ring name) sent this node a command: it is alive (see
    /// ``PeerClient/markAlive()``).
    func heard(from peer: String) {
        // Until some breaker has opened there is nothing to close: no lookup at all.
        guard breakerEverOpened.load(ordering: .relaxed) else { return }
        view.peers[peer]?.markAlive()
    }

    private func track(_ channel: any Channel) {
        connectionsAccepted.add(1, ordering: .relaxed)
        let id = ObjectIdentifier(channel)
        let accepted = state.withLockedValue { s -> Bool in
            guard !s.stopped else { return false }
            s.connections[id] = channel
            return true
        }
        if !accepted { channel.close(promise: nil); return }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLockedValue { $0.connections.removeValue(forKey: id) }
        }
    }

    var connectionCount: Int { state.withLockedValue { $0.connections.count } }

    /// Stops gracefully: leaves etcd (revokes the lease, so the others drop this node
    /// at once), stops accepting, lets connections finish the requests they have
    /// (up to ``NodeConfiguration/drainMilliseconds``), then closes everything.
    /// Blocks until done; must not be called on one of the node's event loops.
    public func stop() {
        let (server, membership, peers, alreadyStopped) = state.withLockedValue { s in
            let was = s.stopped
            s.stopped = true
            return (s.serverChannel, s.membership, Array(s.view.peers.values), was)
        }
        guard !alreadyStopped else { return }
        if let membership { try? membership.stop().wait() }
        try? server?.close().wait()
        let open = state.withLockedValue { Array($0.connections.values) }
        for c in open {
            c.eventLoop.execute { _ = try? c.pipeline.syncOperations.handler(type: CommandHandler.self).closeWhenIdle(c) }
        }
        let deadline = NIODeadline.now() + .milliseconds(configuration.drainMilliseconds)
        for c in open {
            let remaining = deadline - .now()
            if remaining > .zero {
                let timer = c.eventLoop.scheduleTask(in: remaining) { c.close(promise: nil) }
                try? c.closeFuture.wait()
                timer.cancel()
            } else {
                c.close(promise: nil)
            }
        }
        for p in peers { p.close() }
        try? loaderPool.syncShutdownGracefully()
        try? membershipPool.syncShutdownGracefully()
        try? eventLoopGroup.syncShutdownGracefully()
    }

    func group(named name: ByteBuffer) -> ClusterGroup? {
        groups[String(buffer: name)]
    }

    public func groupNames() -> [String] { groups.keys.sorted() }
}

/// An immutable snapshot of the ring and the clients of its other members.
struct RingView {
    let ring: HashRing
    let members: [String]
    let peers: [String: PeerClient]
    let selfAddress: String

    static let empty = RingView(ring: try! HashRing(), members: [], peers: [:], selfAddress: "")

    /// The owner of `key`; nil when the ring is empty (before start).
    func owner(_ key: [UInt8]) -> String? { ring.node(for: key) }
}

/// A group as a node serves it: the engine's group plus the hot tier and counters.
final class ClusterGroup: Sendable {
    let group: Group
    let hot: HotTier
    /// Gets answered from this node's own cache as the key's owner.
    let ownerHits = Atomic<UInt64>(0)
    /// Gets answered from the hot tier.
    let hotHits = Atomic<UInt64>(0)
    /// Gets sent to the owner.
    let peerGets = Atomic<UInt64>(0)
    /// Values kept in the hot tier after a fetch.
    let hotAdmits = Atomic<UInt64>(0)
    /// Peer calls that failed to reach the owner.
    let peerFailures = Atomic<UInt64>(0)
    /// Loads done here because the owner could not be reached.
    let fallbackLoads = Atomic<UInt64>(0)
    /// Gets this node answered for other nodes (as the owner).
    let servedToPeers = Atomic<UInt64>(0)
    /// Gets that shared a fetch or load already running here (not counted in peerGets).
    let flightsJoined = Atomic<UInt64>(0)
    /// Fetches from owners (and fallback loads) running here, one per key: concurrent
    /// gets of a key this node does not own make one `BC.GET`.
    let fetches = FutureFlights()
    /// Loads running here as the owner, one per key, so that followers wait on a
    /// future instead of holding a loader thread.
    let loads = FutureFlights()

    init(_ group: Group, _ c: NodeConfiguration) throws(CacheError) {
        self.group = group
        hot = try HotTier(groupConfiguration: group.store.configuration, fraction: c.hotTierFraction,
                          defaultBytes: c.hotTierDefaultBytes, threshold: c.hotAdmissionThreshold,
                          maxTTLMilliseconds: c.hotMaxTTLMilliseconds)
    }

    var name: String { group.name }
}
