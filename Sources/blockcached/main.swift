// blockcached: a BlockCache cluster node as a process.
//
//   blockcached --port 7001 --group name=users,max-bytes=64m,loader=echo \
//               [--peers 127.0.0.1:7002,127.0.0.1:7003] [--etcd http://127.0.0.1:2379]
//
// See `blockcached --help` and docs/cluster.md. SIGTERM and SIGINT stop it gracefully:
// it leaves etcd (revokes its lease), finishes the requests in flight, then exits 0.
import BlockCache
import BlockCacheCluster
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

let usage = """
    usage: blockcached [options]

    Listening
      --host ADDR               address to listen on (default 127.0.0.1)
      --port N                  port (default 6380; 0 = any free port)
      --advertise HOST:PORT     address other nodes use for this one (default host:port)

    Groups (repeatable; the first, or --default-group, serves plain GET/SET/DEL)
      --group name=N[,max-bytes=SIZE][,max-entries=N][,policy=lru|lru2|wtinylfu]
                    [,ttl-ms=N][,loader=none|echo][,load-delay-ms=N]
                                loader "none": a miss is a miss (SET fills the cache);
                                loader "echo": a miss loads the value "<group>:<key>"
                                (after load-delay-ms), which shows loads in INFO
      --default-group NAME

    Membership
      --peers A,B,...           static members, host:port (this node may be listed)
      --etcd URL,...            etcd endpoints (http://host:port, or https:// for TLS):
                                register and watch
      --etcd-prefix P           key prefix (default /blockcache/nodes/)
      --etcd-lease-ttl S        lease TTL in seconds (default 5)
      --etcd-ca FILE            PEM roots of etcd's certificate (https; default: the
                                system's roots)
      --etcd-cert FILE          PEM client certificate for an etcd with
                                --client-cert-auth (needs --etcd-key)
      --etcd-key FILE           its PEM private key

    Security
      --password PW             clients must AUTH; nodes send it to each other
                                (or set BLOCKCACHED_PASSWORD)
      --tls-cert FILE           PEM certificate chain: every connection is TLS, and
                                nodes present it to each other (needs --tls-key)
      --tls-key FILE            PEM private key of --tls-cert
      --tls-ca FILE             PEM roots other nodes' and clients' certificates must
                                chain to (default: the system's roots)
      --tls-client-certs none|peers|all
                                who must present a client certificate: nobody
                                (default); peers (the node-to-node commands are
                                refused without one); all (else no handshake)
      --tls-no-verify-hostnames do not check that a peer's certificate names the
                                host dialled (the chain is still checked)

    Limits and tuning
      --max-frame-bytes SIZE    largest request (default 64m)
      --max-key-bytes N         longest key (default 65535)
      --max-value-bytes SIZE    largest value (default 32m)
      --peer-timeout-ms N       deadline of a call to a peer (default 500)
      --load-timeout-ms N       how long a fetch waits for an owner that is alive and
                                loading (default 10000; liveness is checked every
                                peer timeout)
      --breaker-backoff-ms N    first backoff after a peer fails (default 1000)
      --hot-max-age-ms N        longest a copy of another node's key is kept here
                                (default 5000): how stale a read can be on a node
                                that a write's invalidation could not reach
      --threads N               event-loop threads (default: one per CPU; at most 1024,
                                and few enough for ulimit -n: about 4 files each)
      --loader-threads N        threads running loaders (default 16; at most 1024)
      --drain-ms N              how long a stop waits for requests in flight (default 2000)
      --quiet                   log nothing but errors
    """

func fail(_ message: String) -> Never {
    FileHandleStderr.write("blockcached: \(message)\n")
    exit(2)
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// `64m`, `1g`, `4096` → bytes.
func parseSize(_ text: String, _ what: String) -> UInt64 {
    let lower = text.lowercased()
    let multipliers: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
    var digits = Substring(lower)
    var mult: UInt64 = 1
    if let last = lower.last, let m = multipliers[last] {
        mult = m
        digits = digits.dropLast()
        if digits.hasSuffix("i") { digits = digits.dropLast() }
    } else if lower.hasSuffix("b") {
        digits = digits.dropLast()
    }
    guard let n = UInt64(digits), n.multipliedReportingOverflow(by: mult).overflow == false else {
        fail("\(what): '\(text)' is not a size (e.g. 4096, 64m, 1g)")
    }
    return n * mult
}

func parseInt(_ text: String, _ what: String, min: Int64 = 0) -> Int64 {
    guard let n = Int64(text), n >= min else { fail("\(what): '\(text)' is not an integer >= \(min)") }
    return n
}

struct GroupSpec {
    var name = ""
    var configuration = StoreConfiguration()
    var loader = "none"
    var loadDelayMilliseconds: Int64 = 0
}

func parseGroup(_ spec: String) -> GroupSpec {
    var g = GroupSpec()
    for part in spec.split(separator: ",") {
        let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2 else { fail("--group: '\(part)' is not key=value") }
        switch kv[0] {
        case "name": g.name = kv[1]
        case "max-bytes": g.configuration.maxBytes = parseSize(kv[1], "--group max-bytes")
        case "max-entries": g.configuration.maxEntries = UInt64(parseInt(kv[1], "--group max-entries"))
        case "ttl-ms": g.configuration.defaultTTLMilliseconds = parseInt(kv[1], "--group ttl-ms")
        case "policy":
            guard let p = EvictionPolicy(name: kv[1]) else { fail("--group policy: unknown policy '\(kv[1])'") }
            g.configuration.policy = p
        case "loader":
            guard ["none", "echo"].contains(kv[1]) else { fail("--group loader: '\(kv[1])' is not none or echo") }
            g.loader = kv[1]
        case "load-delay-ms": g.loadDelayMilliseconds = parseInt(kv[1], "--group load-delay-ms")
        default: fail("--group: unknown field '\(kv[0])'")
        }
    }
    if g.name.isEmpty { fail("--group needs name=...") }
    return g
}

// MARK: - Flags

var configuration = NodeConfiguration()
configuration.port = 6380
configuration.password = getenv("BLOCKCACHED_PASSWORD").map { String(cString: $0) }
var groupSpecs: [GroupSpec] = []
var quiet = false
var tlsCert: String?, tlsKey: String?, tlsCA: String?
var tlsClientCerts: TLSSettings.ClientCertificates?
var tlsVerifyHostnames = true
var etcdCA: String?, etcdCert: String?, etcdKey: String?

var args = CommandLine.arguments.dropFirst()
func value(_ flag: String) -> String {
    guard let v = args.popFirst() else { fail("\(flag) needs a value") }
    return v
}
while let flag = args.popFirst() {
    switch flag {
    case "-h", "--help": print(usage); exit(0)
    case "--host": configuration.host = value(flag)
    case "--port": configuration.port = Int(parseInt(value(flag), flag))
    case "--advertise": configuration.advertisedAddress = value(flag)
    case "--group": groupSpecs.append(parseGroup(value(flag)))
    case "--default-group": configuration.defaultGroup = value(flag)
    case "--peers": configuration.peers = value(flag).split(separator: ",").map(String.init)
    case "--etcd": configuration.etcdEndpoints = value(flag).split(separator: ",").map(String.init)
    case "--etcd-prefix": configuration.etcdPrefix = value(flag)
    case "--etcd-lease-ttl": configuration.etcdLeaseTTLSeconds = Int(parseInt(value(flag), flag, min: 1))
    case "--etcd-ca": etcdCA = value(flag)
    case "--etcd-cert": etcdCert = value(flag)
    case "--etcd-key": etcdKey = value(flag)
    case "--password": configuration.password = value(flag)
    case "--max-frame-bytes":
        let n = Int(parseSize(value(flag), flag))
        configuration.limits.maxFrameBytes = n
        configuration.limits.maxBulkBytes = min(configuration.limits.maxBulkBytes, n)
    case "--max-key-bytes": configuration.maxKeyBytes = Int(parseInt(value(flag), flag, min: 1))
    case "--max-value-bytes": configuration.maxValueBytes = Int(parseSize(value(flag), flag))
    case "--peer-timeout-ms": configuration.peerTimeoutMilliseconds = parseInt(value(flag), flag, min: 1)
    case "--breaker-backoff-ms": configuration.breakerBackoffMilliseconds = parseInt(value(flag), flag, min: 1)
    case "--load-timeout-ms": configuration.loadTimeoutMilliseconds = parseInt(value(flag), flag, min: 1)
    case "--hot-max-age-ms": configuration.hotMaxTTLMilliseconds = parseInt(value(flag), flag, min: 1)
    case "--threads": configuration.eventLoopThreads = Int(parseInt(value(flag), flag))
    case "--loader-threads": configuration.loaderThreads = Int(parseInt(value(flag), flag, min: 1))
    case "--drain-ms": configuration.drainMilliseconds = parseInt(value(flag), flag)
    case "--tls-cert": tlsCert = value(flag)
    case "--tls-key": tlsKey = value(flag)
    case "--tls-ca": tlsCA = value(flag)
    case "--tls-client-certs":
        let v = value(flag)
        guard let c = TLSSettings.ClientCertificates(rawValue: v) else {
            fail("\(flag): '\(v)' is not none, peers or all")
        }
        tlsClientCerts = c
    case "--tls-no-verify-hostnames": tlsVerifyHostnames = false
    case "--quiet": quiet = true
    default: fail("unknown option '\(flag)' (see --help)")
    }
}
if groupSpecs.isEmpty { groupSpecs = [parseGroup("name=default,max-bytes=256m")] }
switch (tlsCert, tlsKey) {
case (let cert?, let key?):
    configuration.tls = TLSSettings(certificatePath: cert, privateKeyPath: key, caPath: tlsCA,
                                    clientCertificates: tlsClientCerts ?? .none,
                                    verifyHostnames: tlsVerifyHostnames)
case (nil, nil):
    if tlsCA != nil || tlsClientCerts != nil || !tlsVerifyHostnames {
        fail("--tls-ca, --tls-client-certs and --tls-no-verify-hostnames need --tls-cert and --tls-key")
    }
default:
    fail("--tls-cert and --tls-key go together")
}
if etcdCA != nil || etcdCert != nil || etcdKey != nil {  // checked by the node
    configuration.etcdTLS = TLSClientSettings(caPath: etcdCA, certificatePath: etcdCert, privateKeyPath: etcdKey)
}

// MARK: - Start

let groups: [Group] = groupSpecs.map { spec in
    let name = spec.name
    let delay = spec.loadDelayMilliseconds
    let echo = spec.loader == "echo"
    do {
        return try Group(name: name, configuration: spec.configuration) { key in
            guard echo else { return nil }
            if delay > 0 { usleep(useconds_t(min(delay, 60_000) * 1000)) }
            return LoadedValue(Array("\(name):".utf8) + key)
        }
    } catch {
        fail("group '\(name)': \(error)")
    }
}

let node: Node
do {
    node = try Node(configuration: configuration, groups: groups, log: { message in
        if !quiet { FileHandleStderr.write("blockcached: \(message)\n") }
    })
    try node.start()
} catch {
    fail(error.message)
}

signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
signal(SIGPIPE, SIG_IGN)
let stopRequested = DispatchSemaphore(value: 0)
let sources = [SIGTERM, SIGINT].map { sig in
    let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
    s.setEventHandler { stopRequested.signal() }
    s.resume()
    return s
}
stopRequested.wait()
if !quiet { FileHandleStderr.write("blockcached: stopping (draining, leaving the cluster)\n") }
node.stop()
if !quiet { FileHandleStderr.write("blockcached: stopped\n") }
exit(0)
