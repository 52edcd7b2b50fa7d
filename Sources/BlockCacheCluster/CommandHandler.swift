import BlockCache
import BlockCacheRESP
import NIOCore
import NIOSSL

/// Serves one client connection: runs its commands and writes the replies in the
/// order the commands came. Cheap commands (cache hits, PING…) are answered on the
/// event loop at once. Reads that must wait (a load, a call to the owner) run
/// concurrently, up to ``maxInFlight`` per connection, so one slow miss does not hold
/// back the reads pipelined after it (a peer's connection carries many callers'
/// reads); their replies are held until every earlier reply is written. A write, or
/// a command that changes the connection's state, waits for everything before it
/// and holds back everything after it, so a connection reads its own writes as in
/// Redis. A connection that queues too many commands stops being read until the
/// queue drains.
///
/// Before `AUTH` (when the node has a password) only `AUTH`, `HELLO` and `QUIT` run.
/// A protocol error is answered with `-ERR Protocol error: …` and closes the
/// connection.
final class CommandHandler: ChannelInboundHandler {
    typealias InboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    /// What one command did.
    enum Outcome {
        /// Its reply is written.
        case done
        /// Its reply will be written by this closure when the future completes.
        case later(EventLoopFuture<(inout ByteBuffer) -> Void>)
        /// Its reply is written; then close the connection.
        case close
    }

    /// A reply in the order of its command: bytes, or not known yet.
    private final class ReplySlot {
        var bytes: ByteBuffer?
    }

    let node: Node
    var version: RESPVersion = .resp2
    var authenticated: Bool
    var clientName: String?
    /// The ring name of the node on the other end, once it said `BC.IAM`: every command
    /// it sends tells this node it is alive.
    private var peerName: String?
    /// Whether this read's commands already told the node (once per read is enough).
    private var heardThisRead = false
    /// Whether this connection presented a valid TLS client certificate (looked up once).
    private var certified: Bool?
    private var queue = CircularBuffer<RESPRequest>()
    /// Replies not yet written because an earlier one is not known yet.
    private var slots = CircularBuffer<ReplySlot>()
    private var inFlight = 0
    private var writeInFlight = false
    private var closing = false
    private var closeWhenDrained = false
    private var readingPaused = false
    private var out: ByteBuffer
    private static let maxQueued = 1024
    private static let maxInFlight = 128
    private static let flushAt = 256 << 10
    /// Commands that may run concurrently with the ones around them.
    private static let concurrentReads: Set<String> = ["GET", "MGET", "EXISTS", "BC.GET"]

    init(node: Node) {
        self.node = node
        authenticated = node.configuration.password == nil
        out = ByteBufferAllocator().buffer(capacity: 4096)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        queue.append(unwrapInboundIn(data))
        run(context: context)
        if queue.count >= Self.maxQueued, !readingPaused {
            readingPaused = true
            context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        heardThisRead = false
        flush(context: context)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        if let e = error as? RESPProtocolError {
            node.protocolErrors.add(1, ordering: .relaxed)
            // Replies owed for earlier commands come first; those still waiting are lost.
            drainReadySlots()
            out.writeRESPError("ERR Protocol error: \(e.message)")
        }
        closing = true
        queue.removeAll()
        flush(context: context)
        context.close(promise: nil)
    }

    /// Called by a stopping node: close once the commands received so far are answered.
    func closeWhenIdle(_ channel: any Channel) {
        closeWhenDrained = true
        if inFlight == 0 && queue.isEmpty { channel.close(promise: nil) }
    }

    /// Runs queued commands until one must wait for earlier ones, or the queue is empty.
    private func run(context: ChannelHandlerContext) {
        while !closing, let request = queue.first {
            let name = commandName(request.arguments[0])
            let concurrent = Self.concurrentReads.contains(name) && !(name == "BC.GET" && request.arguments.count > 4)
            if inFlight > 0 && (!concurrent || writeInFlight || inFlight >= Self.maxInFlight) { break }
            queue.removeFirst()
            node.commandsProcessed.add(1, ordering: .relaxed)
            // While earlier replies are pending, this one goes to a slot of its own.
            let ordered = !slots.isEmpty
            var saved: ByteBuffer?
            if ordered {
                saved = out
                out = context.channel.allocator.buffer(capacity: 256)
            }
            let outcome = execute(request, name: name, context: context)
            if ordered, case .later = outcome {} else if ordered {
                let slot = ReplySlot()
                slot.bytes = out
                slots.append(slot)
                out = saved!
            }
            switch outcome {
            case .done:
                if out.readableBytes >= Self.flushAt { flush(context: context) }
            case .close:
                closing = true
                queue.removeAll()
                drainReadySlots()
                flush(context: context)
                context.close(promise: nil)
                return
            case .later(let future):
                if let saved { out = saved }
                let slot = ReplySlot()
                slots.append(slot)
                inFlight += 1
                if !concurrent { writeInFlight = true }
                future.whenComplete { [self] result in
                    var reply = context.channel.allocator.buffer(capacity: 256)
                    swap(&out, &reply)
                    switch result {
                    case .success(let write): write(&out)
                    case .failure(let error): writeError(error)
                    }
                    swap(&out, &reply)
                    slot.bytes = reply
                    inFlight -= 1
                    if !concurrent { writeInFlight = false }
                    guard context.channel.isActive, !closing else { return }
                    drainReadySlots()
                    run(context: context)
                    flush(context: context)
                }
            }
        }
        drainReadySlots()
        if readingPaused, queue.count < Self.maxQueued / 2 {
            readingPaused = false
            context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
        }
        if closeWhenDrained, inFlight == 0, queue.isEmpty {
            flush(context: context)
            context.close(promise: nil)
        }
    }

    /// Moves the replies that are known, from the oldest, into the output.
    private func drainReadySlots() {
        while let first = slots.first, let bytes = first.bytes {
            out.writeImmutableBuffer(bytes)
            slots.removeFirst()
        }
    }

    private func flush(context: ChannelHandlerContext) {
        guard out.readableBytes > 0, context.channel.isActive else { return }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        out = context.channel.allocator.buffer(capacity: 4096)
    }

    func writeError(_ error: any Error) {
        switch error {
        case let e as NodeError: out.writeRESPError(e.reply)
        case let e as PeerError: out.writeRESPError(e.isTransport ? "ERR \(e)" : e.description)
        case let e as CacheError: out.writeRESPError("ERR \(e.message)")
        default: out.writeRESPError("ERR \(error)")
        }
    }

    // MARK: - Commands

    private func execute(_ request: RESPRequest, name: String, context: ChannelHandlerContext) -> Outcome {
        let args = request.arguments
        if Self.isHTTP(name, args) {
            // A web page can make a browser send this port an HTTP request whose body is
            // Redis commands; close before running any of them, as Redis does.
            node.log("closed a connection that sent an HTTP request line or header ('\(name)'): a cross-protocol attack?")
            node.crossProtocolClosed.add(1, ordering: .relaxed)
            return .close  // no reply; nothing queued after it runs
        }
        if !authenticated, name != "AUTH", name != "HELLO", name != "QUIT" {
            out.writeRESPError("NOAUTH Authentication required.")
            return .done
        }
        if let peerName, !heardThisRead {
            heardThisRead = true
            node.heard(from: peerName)
        }
        switch name {
        case "GET": return getCommand(args, context: context)
        case "SET": return setCommand(args, context: context)
        case "DEL", "UNLINK": return delCommand(args, context: context)
        case "MGET": return mgetCommand(args, context: context)
        case "EXISTS": return existsCommand(args, context: context)
        case "PING":
            if args.count > 2 { return wrongArity("ping") }
            if args.count == 2 { out.writeRESPBulk(args[1]) } else { out.writeRESPSimpleString("PONG") }
        case "ECHO":
            guard args.count == 2 else { return wrongArity("echo") }
            out.writeRESPBulk(args[1])
        case "AUTH": return authCommand(args)
        case "HELLO": return helloCommand(args)
        case "QUIT":
            out.writeRESPSimpleString("OK")
            return .close
        case "INFO":
            out.writeRESPBulk(node.info(section: args.count > 1 ? String(buffer: args[1]).lowercased() : "default"))
        case "DBSIZE":
            out.writeRESPInteger(Int64(node.defaultGroup.group.store.stats().entries))
        case "SELECT":
            if args.count == 2, String(buffer: args[1]) == "0" { out.writeRESPSimpleString("OK") }
            else { out.writeRESPError("ERR SELECT is not allowed in cluster mode: only database 0 exists") }
        case "COMMAND":
            out.writeRESPArrayHeader(0)
        case "CONFIG":
            // redis-benchmark asks CONFIG GET save/appendonly; a cache has no such settings.
            if args.count >= 2, commandName(args[1]) == "GET" { out.writeRESPMapHeader(0, version) }
            else { out.writeRESPError("ERR CONFIG subcommand not supported") }
        case "CLIENT":
            return clientCommand(args)
        case "BC.GET": return peerGetCommand(args, context: context)
        case "BC.SET": return peerSetCommand(args, context: context)
        case "BC.DEL": return peerDelCommand(args, context: context)
        case "BC.DROP":
            guard args.count == 3 else { return wrongArity("bc.drop") }
            guard mayActAsPeer(context) else { return refusePeerCommand() }
            guard let cg = groupArg(args[1]) else { return .done }
            node.drop(cg, Array(args[2].readableBytesView))
            out.writeRESPSimpleString("OK")
        case "BC.SETPEERS":
            // Replaces the static member list at run time (behind AUTH when a password is
            // set, and behind a client certificate when peers must present one).
            guard mayActAsPeer(context) else { return refusePeerCommand() }
            // Names are resolved and the ring built on the membership thread, not here.
            let peers = args.dropFirst().map { String(buffer: $0) }
            return .later(node.setPeers(peers, on: context.eventLoop).map { { $0.writeRESPSimpleString("OK") } })
        case "BC.IAM":
            // Sent by a node on each connection it opens, after AUTH.
            guard args.count == 2 else { return wrongArity("bc.iam") }
            guard mayActAsPeer(context) else { return refusePeerCommand() }
            peerName = String(buffer: args[1])
            node.heard(from: peerName!)
            out.writeRESPSimpleString("OK")
        case "BC.OWNER":
            guard args.count == 2 else { return wrongArity("bc.owner") }
            let view = node.view
            if let owner = view.owner(Array(args[1].readableBytesView)) { out.writeRESPBulk(owner) } else { out.writeRESPNull(version) }
        case "BC.MEMBERS":
            let members = node.members
            out.writeRESPArrayHeader(members.count)
            for m in members { out.writeRESPBulk(m) }
        default:
            out.writeRESPError("ERR unknown command '\(String(buffer: args[0]).prefix(64))'")
        }
        return .done
    }

    /// An HTTP request line (`POST / HTTP/1.1`, `GET /x HTTP/1.1`, any method) or a
    /// `Host:` header, as an inline command.
    static func isHTTP(_ name: String, _ args: [ByteBuffer]) -> Bool {
        if name == "POST" || name == "HOST:" { return true }
        guard args.count == 3, args[2].readableBytes >= 5 else { return false }
        return args[2].readableBytesView.prefix(5).elementsEqual("HTTP/".utf8)
    }

    /// Whether this connection may run the peer-only commands: always, unless the node
    /// wants TLS client certificates from its peers; then only with a valid one.
    private func mayActAsPeer(_ context: ChannelHandlerContext) -> Bool {
        guard node.configuration.tls?.clientCertificates == .peers else { return true }
        if let certified { return certified }
        // The handshake is over before any command arrives; with optional verification
        // a certificate is there only if it chained to the node's roots.
        let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
        let c = handler?.peerCertificate != nil
        certified = c
        return c
    }

    private func refusePeerCommand() -> Outcome {
        out.writeRESPError("NOPERM peer commands need a TLS client certificate signed by the cluster's CA")
        return .done
    }

    private func commandName(_ b: ByteBuffer) -> String {
        guard b.readableBytes <= 32 else { return "" }
        return String(decoding: b.readableBytesView.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    private func wrongArity(_ name: String) -> Outcome {
        out.writeRESPError("ERR wrong number of arguments for '\(name)' command")
        return .done
    }

    private func groupArg(_ b: ByteBuffer) -> ClusterGroup? {
        guard let cg = node.group(named: b) else {
            out.writeRESPError("ERR no group named '\(String(buffer: b).prefix(64))' on this node")
            return nil
        }
        return cg
    }

    private func keyArg(_ b: ByteBuffer) -> [UInt8]? {
        guard b.readableBytes <= node.configuration.maxKeyBytes else {
            out.writeRESPError("ERR key is \(b.readableBytes) bytes; the limit is \(node.configuration.maxKeyBytes)")
            return nil
        }
        return Array(b.readableBytesView)
    }

    // MARK: Reads

    private func getCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard args.count == 2 else { return wrongArity("get") }
        guard let key = keyArg(args[1]) else { return .done }
        return get(node.defaultGroup, key, fromPeer: false, withTTL: false, context: context)
    }

    private func peerGetCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard args.count == 3 || args.count == 4 else { return wrongArity("bc.get") }
        guard let cg = groupArg(args[1]), let key = keyArg(args[2]) else { return .done }
        let fromPeer = args.count == 4 && commandName(args[3]) == "PEER"
        guard args.count == 3 || fromPeer else { out.writeRESPError("ERR syntax error"); return .done }
        guard !fromPeer || mayActAsPeer(context) else { return refusePeerCommand() }
        return get(cg, key, fromPeer: fromPeer, withTTL: true, context: context)
    }

    private func get(_ cg: ClusterGroup, _ key: [UInt8], fromPeer: Bool, withTTL: Bool,
                     context: ChannelHandlerContext) -> Outcome {
        let version = self.version
        switch node.get(cg, key, fromPeer: fromPeer, on: context.eventLoop) {
        case .now(.success(let v)):
            Self.writeValue(&out, v, withTTL: withTTL, version: version)
            return .done
        case .now(.failure(let e)):
            writeError(e)
            return .done
        case .later(let future):
            return .later(future.map { v in { Self.writeValue(&$0, v, withTTL: withTTL, version: version) } })
        }
    }

    private static func writeValue(_ out: inout ByteBuffer, _ v: LoadedValue?, withTTL: Bool, version: RESPVersion) {
        guard let v else { out.writeRESPNull(version); return }
        if withTTL {
            out.writeRESPArrayHeader(2)
            out.writeRESPBulk(v.bytes)
            if case .milliseconds(let ms) = v.ttl { out.writeRESPInteger(ms) } else { out.writeRESPInteger(-1) }
        } else {
            out.writeRESPBulk(v.bytes)
        }
    }

    private func mgetCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard args.count >= 2 else { return wrongArity("mget") }
        var keys: [[UInt8]] = []
        for a in args.dropFirst() {
            guard let k = keyArg(a) else { return .done }
            keys.append(k)
        }
        let loop = context.eventLoop
        let version = self.version
        // A key whose load fails reads as null, as a missing key does in Redis.
        let futures = keys.map { node.get(node.defaultGroup, $0, fromPeer: false, on: loop).future(on: loop).recover { _ in nil } }
        return .later(EventLoopFuture.whenAllSucceed(futures, on: loop).map { values in
            { out in
                out.writeRESPArrayHeader(values.count)
                for v in values { Self.writeValue(&out, v, withTTL: false, version: version) }
            }
        })
    }

    /// EXISTS counts the keys a GET would find: this is a read-through cache, so a
    /// key exists if it is cached anywhere or its loader has a value for it.
    private func existsCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard args.count >= 2 else { return wrongArity("exists") }
        var keys: [[UInt8]] = []
        for a in args.dropFirst() {
            guard let k = keyArg(a) else { return .done }
            keys.append(k)
        }
        let loop = context.eventLoop
        let futures = keys.map { node.get(node.defaultGroup, $0, fromPeer: false, on: loop).future(on: loop) }
        return .later(EventLoopFuture.whenAllSucceed(futures, on: loop).map { values in
            let n = Int64(values.filter { $0 != nil }.count)
            return { $0.writeRESPInteger(n) }
        })
    }

    // MARK: Writes

    /// `SET key value [EX s | PX ms | KEEPTTL]`; NX, XX and GET are refused (a cache
    /// that loads on miss cannot promise them).
    private func setCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard args.count >= 3 else { return wrongArity("set") }
        guard let key = keyArg(args[1]) else { return .done }
        var ttl: TTL = .default
        var i = 3
        while i < args.count {
            let opt = commandName(args[i])
            switch opt {
            case "EX", "PX":
                guard i + 1 < args.count, let n = Int64(String(buffer: args[i + 1])), n > 0 else {
                    out.writeRESPError("ERR invalid expire time in 'set' command")
                    return .done
                }
                let (ms, overflow) = opt == "EX" ? n.multipliedReportingOverflow(by: 1000) : (n, false)
                guard !overflow else { out.writeRESPError("ERR invalid expire time in 'set' command"); return .done }
                ttl = .milliseconds(ms)
                i += 2
            default:
                out.writeRESPError("ERR syntax error (SET supports EX and PX)")
                return .done
            }
        }
        return set(node.defaultGroup, key, args[2], ttl: ttl, fromPeer: false, context: context)
    }

    /// `BC.SET group key value ttl-ms [PEER [deadline-ms]]`: a node's write carries the
    /// wall-clock time after which the owner must refuse it.
    private func peerSetCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard (5...7).contains(args.count) else { return wrongArity("bc.set") }
        guard let cg = groupArg(args[1]), let key = keyArg(args[2]) else { return .done }
        guard let ms = Int64(String(buffer: args[4])), ms >= -1 else {
            out.writeRESPError("ERR invalid TTL: milliseconds, -1 for never or 0 for the group default")
            return .done
        }
        guard let (fromPeer, deadline) = peerFlag(args, at: 5) else { return .done }
        guard !fromPeer || mayActAsPeer(context) else { return refusePeerCommand() }
        let ttl: TTL = ms == -1 ? .never : ms == 0 ? .default : .milliseconds(ms)
        return set(cg, key, args[3], ttl: ttl, fromPeer: fromPeer, deadline: deadline, context: context)
    }

    /// `[PEER [deadline-ms]]` from `args[i]` on: whether it is a peer's call, and its
    /// deadline; nil (with the error written) for anything else.
    private func peerFlag(_ args: [ByteBuffer], at i: Int) -> (fromPeer: Bool, deadline: Int64?)? {
        if args.count == i { return (false, nil) }
        guard commandName(args[i]) == "PEER" else { out.writeRESPError("ERR syntax error"); return nil }
        if args.count == i + 1 { return (true, nil) }
        guard args.count == i + 2, let d = Int64(String(buffer: args[i + 1])) else {
            out.writeRESPError("ERR syntax error (PEER takes a deadline in ms since 1970)")
            return nil
        }
        return (true, d)
    }

    private func set(_ cg: ClusterGroup, _ key: [UInt8], _ value: ByteBuffer, ttl: TTL, fromPeer: Bool,
                     deadline: Int64? = nil, context: ChannelHandlerContext) -> Outcome {
        guard value.readableBytes <= node.configuration.maxValueBytes else {
            out.writeRESPError("ERR value is \(value.readableBytes) bytes; the limit is \(node.configuration.maxValueBytes)")
            return .done
        }
        switch node.set(cg, key, Array(value.readableBytesView), ttl: ttl, fromPeer: fromPeer, deadline: deadline,
                        on: context.eventLoop) {
        case .now(.success):
            out.writeRESPSimpleString("OK")
            return .done
        case .now(.failure(let e)):
            writeError(e)
            return .done
        case .later(let future):
            return .later(future.map { { $0.writeRESPSimpleString("OK") } })
        }
    }

    private func delCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard args.count >= 2 else { return wrongArity("del") }
        var keys: [[UInt8]] = []
        for a in args.dropFirst() {
            guard let k = keyArg(a) else { return .done }
            keys.append(k)
        }
        let loop = context.eventLoop
        let futures = keys.map { node.delete(node.defaultGroup, $0, fromPeer: false, on: loop) }
        return .later(EventLoopFuture.whenAllSucceed(futures, on: loop).map { removed in
            let n = Int64(removed.filter { $0 }.count)
            return { $0.writeRESPInteger(n) }
        })
    }

    /// `BC.DEL group key [PEER [deadline-ms]]`.
    private func peerDelCommand(_ args: [ByteBuffer], context: ChannelHandlerContext) -> Outcome {
        guard (3...5).contains(args.count) else { return wrongArity("bc.del") }
        guard let cg = groupArg(args[1]), let key = keyArg(args[2]) else { return .done }
        guard let (fromPeer, deadline) = peerFlag(args, at: 3) else { return .done }
        guard !fromPeer || mayActAsPeer(context) else { return refusePeerCommand() }
        return .later(node.delete(cg, key, fromPeer: fromPeer, deadline: deadline, on: context.eventLoop).map { removed in
            { $0.writeRESPInteger(removed ? 1 : 0) }
        })
    }

    // MARK: Connection

    private func authCommand(_ args: [ByteBuffer]) -> Outcome {
        guard args.count == 2 || args.count == 3 else { return wrongArity("auth") }
        guard let password = node.configuration.password else {
            out.writeRESPError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
            return .done
        }
        let user = args.count == 3 ? String(buffer: args[1]) : "default"
        if user == "default", constantTimeEqual(args[args.count - 1], password) {
            authenticated = true
            out.writeRESPSimpleString("OK")
        } else {
            out.writeRESPError("WRONGPASS invalid username-password pair or user is disabled.")
        }
        return .done
    }

    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`.
    private func helloCommand(_ args: [ByteBuffer]) -> Outcome {
        var requested = version
        var i = 1
        if args.count > 1 {
            guard let v = Int(String(buffer: args[1])) else {
                out.writeRESPError("ERR Protocol version is not an integer or out of range")
                return .done
            }
            guard let rv = RESPVersion(rawValue: v) else {
                out.writeRESPError("NOPROTO unsupported protocol version")
                return .done
            }
            requested = rv
            i = 2
        }
        var newName = clientName
        while i < args.count {
            let opt = commandName(args[i])
            if opt == "AUTH", i + 2 < args.count {
                guard let password = node.configuration.password else {
                    out.writeRESPError("ERR AUTH called without any password configured for the default user")
                    return .done
                }
                guard String(buffer: args[i + 1]) == "default", constantTimeEqual(args[i + 2], password) else {
                    out.writeRESPError("WRONGPASS invalid username-password pair or user is disabled.")
                    return .done
                }
                authenticated = true
                i += 3
            } else if opt == "SETNAME", i + 1 < args.count {
                newName = String(buffer: args[i + 1])
                i += 2
            } else {
                out.writeRESPError("ERR Syntax error in HELLO option '\(String(buffer: args[i]).prefix(32))'")
                return .done
            }
        }
        guard authenticated else {
            out.writeRESPError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
            return .done
        }
        version = requested
        clientName = newName
        out.writeRESPMapHeader(7, version)
        out.writeRESPBulk("server"); out.writeRESPBulk("blockcache")
        out.writeRESPBulk("version"); out.writeRESPBulk(Node.version)
        out.writeRESPBulk("proto"); out.writeRESPInteger(Int64(version.rawValue))
        out.writeRESPBulk("id"); out.writeRESPInteger(Int64(node.connectionsAccepted.load(ordering: .relaxed)))
        out.writeRESPBulk("mode"); out.writeRESPBulk("cluster")
        out.writeRESPBulk("role"); out.writeRESPBulk("master")
        out.writeRESPBulk("modules"); out.writeRESPArrayHeader(0)
        return .done
    }

    private func clientCommand(_ args: [ByteBuffer]) -> Outcome {
        guard args.count >= 2 else { return wrongArity("client") }
        switch commandName(args[1]) {
        case "SETNAME":
            guard args.count == 3 else { return wrongArity("client|setname") }
            clientName = String(buffer: args[2])
            out.writeRESPSimpleString("OK")
        case "GETNAME":
            if let clientName { out.writeRESPBulk(clientName) } else { out.writeRESPNull(version) }
        case "SETINFO":
            out.writeRESPSimpleString("OK")
        case "ID":
            out.writeRESPInteger(Int64(node.connectionsAccepted.load(ordering: .relaxed)))
        default:
            out.writeRESPError("ERR CLIENT subcommand not supported")
        }
        return .done
    }
}

/// Compares a secret without an early exit on the first differing byte.
func constantTimeEqual(_ a: ByteBuffer, _ b: String) -> Bool {
    let x = Array(a.readableBytesView), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}
