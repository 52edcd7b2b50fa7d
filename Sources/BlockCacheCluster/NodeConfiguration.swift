import BlockCache
public import BlockCacheRESP

/// The settings of a ``Node``. Every field has a usable default except the groups.
public struct NodeConfiguration: Sendable {
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (see ``Node/address``).
    public var port: Int = 0
    /// The `host:port` other nodes reach this one at, and its name on the ring.
    /// nil: `host:port` as bound (with a wildcard host replaced by 127.0.0.1).
    public var advertisedAddress: String?

    /// The group that plain Redis commands (`GET`, `SET`…) address; nil = the first.
    public var defaultGroup: String?

    /// Other nodes, as `host:port` (this node's own address may be listed too).
    public var peers: [String] = []

    /// etcd endpoints (`http://host:port`, or `https://host:port` for TLS); empty = no
    /// etcd, static peers only.
    public var etcdEndpoints: [String] = []
    /// TLS to `https://` etcd endpoints: the roots etcd's certificate must chain to and
    /// a client certificate for an etcd with `--client-cert-auth`. nil = the system's
    /// roots, no client certificate.
    public var etcdTLS: TLSClientSettings?
    /// Where nodes register: one key per node, `prefix + address`.
    public var etcdPrefix: String = "/blockcache/nodes/"
    /// Lease TTL of the registration: how long a dead node stays on the others' rings.
    public var etcdLeaseTTLSeconds: Int = 5

    /// A password clients must send with `AUTH` (or `HELLO … AUTH`) before any other
    /// command; nodes send it to each other. nil = no authentication.
    public var password: String?

    /// TLS on every connection to the node and between nodes; nil = plaintext.
    public var tls: TLSSettings?

    /// Limits on what a connection may send; a frame over them closes the connection.
    public var limits: RESPLimits = RESPLimits(maxFrameBytes: 64 << 20, maxBulkBytes: 64 << 20)
    /// Longest key a command may name (at most ``Store/maxKeyLength``).
    public var maxKeyBytes: Int = 65_535
    /// Largest value a SET may carry (at most the frame limit).
    public var maxValueBytes: Int = 32 << 20

    /// Deadline of every call to a peer, connecting included.
    public var peerTimeoutMilliseconds: Int64 = 500
    /// How long a fetch from an owner may wait while the owner is alive and loading
    /// (`--load-timeout-ms`). A fetch that has waited ``peerTimeoutMilliseconds`` is
    /// not given up: a `PING` on another connection checks the owner, and only an
    /// owner that does not answer it counts as unreachable. So a slow loader causes one
    /// load in the cluster, not a fallback load on every node and an open breaker.
    public var loadTimeoutMilliseconds: Int64 = 10_000
    /// How long a peer that failed is left alone before one probe call tries it
    /// again; doubled on each further failure up to ``breakerMaxBackoffMilliseconds``.
    public var breakerBackoffMilliseconds: Int64 = 1_000
    public var breakerMaxBackoffMilliseconds: Int64 = 30_000
    /// Pipelined connections kept to each peer.
    public var connectionsPerPeer: Int = 2

    /// The hot tier's share of each group's budget (byte and entry budgets alike).
    public var hotTierFraction: Double = 1.0 / 8.0
    /// Budget of the hot tier of a group that has no budget of its own.
    public var hotTierDefaultBytes: UInt64 = 64 << 20
    /// Requests for a key (seen at this node, in the recent window) before its value
    /// fetched from the owner is kept in the hot tier.
    public var hotAdmissionThreshold: Int = 2
    /// Longest time a hot copy (or a copy loaded here while the owner was unreachable)
    /// is kept, whatever the value's own expiry (`--hot-max-age-ms`): the bound on how
    /// stale a read can be on a node that a write's invalidation could not reach.
    public var hotMaxTTLMilliseconds: Int64 = 5_000

    /// Threads that run loaders (the owner's misses).
    public var loaderThreads: Int = 16
    /// Event-loop threads; 0 = one per CPU.
    public var eventLoopThreads: Int = 0
    /// How long `stop` waits for requests in flight before it closes connections.
    public var drainMilliseconds: Int64 = 2_000

    public init() {}
}
