public import BlockCache
public import BlockCacheRESP
public import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL
import Synchronization

/// Why a call to a node failed before it produced a reply.
public enum PeerError: Error, Sendable, CustomStringConvertible {
    /// The circuit breaker is open: the peer failed recently and is left alone.
    case unavailable(String)
    /// No reply within the deadline (the connection is closed: its pipeline is lost).
    case timeout(String)
    /// Could not connect, or the connection was lost before the command was sent:
    /// the peer never saw it.
    case connection(String)
    /// The command was sent, but the connection closed before its reply: the peer
    /// may or may not have run it.
    case noReply(String)
    /// The node replied with an error.
    case reply(String)
    /// The reply was not of the expected shape.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .unavailable(let s): return "peer unavailable: \(s)"
        case .timeout(let s): return "peer timeout: \(s)"
        case .connection(let s): return "peer connection failed: \(s)"
        case .noReply(let s): return "peer connection lost before the reply: \(s)"
        case .reply(let s): return s
        case .protocolViolation(let s): return "peer protocol error: \(s)"
        }
    }

    /// Whether the failure says the peer is unreachable (as opposed to its answer).
    public var isTransport: Bool {
        switch self {
        case .unavailable, .timeout, .connection, .noReply: return true
        case .reply, .protocolViolation: return false
        }
    }

    /// Whether the command may have reached the peer and run there: a timeout or a
    /// connection lost after sending. A write that failed so has an unknown outcome.
    public var mayHaveRun: Bool {
        switch self {
        case .timeout, .noReply: return true
        case .unavailable, .connection, .reply, .protocolViolation: return false
        }
    }
}

/// A client of one BlockCache node (or any Redis server, for the plain commands):
/// a few pipelined connections, opened on first use and reopened after a failure,
/// a deadline on every call, and a circuit breaker.
///
/// Breaker: a transport failure (connect error, timeout, closed connection) opens it
/// for `backoff`; while open every call fails at once with ``PeerError/unavailable``.
/// When the backoff has passed one call goes through as a probe: its success closes
/// the breaker, its failure reopens it with the backoff doubled (up to a maximum).
///
/// Thread safety: every method may be called from any thread.
public final class PeerClient: @unchecked Sendable {
    public struct Options: Sendable {
        public var timeoutMilliseconds: Int64 = 500
        public var connections: Int = 2
        public var password: String?
        public var breakerBackoffMilliseconds: Int64 = 1_000
        public var breakerMaxBackoffMilliseconds: Int64 = 30_000
        public var limits: RESPLimits = RESPLimits()
        /// How long a fetch (``PeerClient/call(_:on:fetch:)`` with `fetch: true`, a
        /// node's `BC.GET … PEER`) may wait for an owner that is alive and loading.
        /// Fetches get connections of their own; when one has waited `timeout`, a `PING`
        /// on another connection checks the peer: an answer extends the wait by
        /// another `timeout` (up to this), no answer fails the fetch as a timeout.
        /// nil: fetches are calls like any other.
        public var loadTimeoutMilliseconds: Int64?
        /// The calling node's ring name, sent as `BC.IAM name` on each new connection:
        /// a node that hears from a peer knows it is alive and closes its breaker.
        public var selfName: String?
        /// TLS to the node; nil = plaintext.
        public var tls: TLSClientSettings?
        public init() {}
    }

    public let address: String
    let host: String
    let port: Int
    private let options: Options
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let lock = NIOLock()
    // Protected by `lock`. With a load timeout, slots [0, n) carry ordinary calls and
    // [n, 2n) fetches, so a quick call never queues behind a slow load's reply.
    private var slots: [EventLoopFuture<any Channel>?]
    private var next = 0
    private var nextFetch = 0
    private let connectionsPerKind: Int
    private var closed = false
    private var breakerOpenUntil: NIODeadline?
    private var breakerBackoff: Int64
    private var probing = false
    private var failures: UInt64 = 0

    /// - Throws: `.invalidArgument` for an address that is not `host:port`, or TLS
    ///   files that cannot be read or do not match.
    public convenience init(address: String, options: Options, eventLoopGroup: any EventLoopGroup) throws(CacheError) {
        try self.init(address: address, options: options, sslContext: options.tls?.makeContext(),
                      eventLoopGroup: eventLoopGroup)
    }

    /// Told when the breaker opens (`true`) and when it closes again (`false`), outside
    /// the client's lock.
    private let onBreakerChange: (@Sendable (_ open: Bool) -> Void)?
    /// Set once the breaker has opened: until then ``markAlive()`` has nothing to do and
    /// takes no lock (it runs for every read from a peer).
    private let breakerEverOpened = Atomic<Bool>(false)

    /// With a TLS context made once for many clients (a node's peers); used when
    /// `options.tls` is set.
    init(address: String, options: Options, sslContext: NIOSSLContext?,
         eventLoopGroup: any EventLoopGroup,
         onBreakerChange: (@Sendable (_ open: Bool) -> Void)? = nil) throws(CacheError) {
        self.onBreakerChange = onBreakerChange
        guard let (host, port) = splitHostPort(address) else {
            throw CacheError(.invalidArgument, "peer address must be host:port; got '\(address)'")
        }
        self.address = address
        self.host = host
        self.port = port
        self.options = options
        self.sslContext = options.tls == nil ? nil : sslContext
        self.group = eventLoopGroup
        connectionsPerKind = max(1, options.connections)
        slots = Array(repeating: nil, count: connectionsPerKind * (options.loadTimeoutMilliseconds == nil ? 1 : 2))
        breakerBackoff = options.breakerBackoffMilliseconds
    }

    /// Transport failures so far (for stats).
    public var failureCount: UInt64 { lock.withLock { failures } }

    /// Whether calls are being refused now by the breaker.
    public var isBreakerOpen: Bool {
        lock.withLock { breakerOpenUntil.map { $0 > .now() } ?? false }
    }

    /// Sends one command and returns its reply (an error reply is a successful
    /// future holding `.error`). Fails with ``PeerError``. `fetch`: a call that may
    /// wait for a load (see ``Options/loadTimeoutMilliseconds``).
    /// `throughBreaker`: send even while the breaker is open (an invalidation, which
    /// must reach a peer that is alive whatever the breaker believes); its outcome
    /// then closes or reopens the breaker as a probe's would.
    public func call(_ arguments: [ByteBuffer], on eventLoop: (any EventLoop)? = nil,
                     fetch: Bool = false, throughBreaker: Bool = false) -> EventLoopFuture<RESPValue> {
        let loop = eventLoop ?? group.next()
        let admitted: Result<EventLoopFuture<any Channel>, PeerError> = lock.withLock {
            if closed { return .failure(.connection("client for \(address) is closed")) }
            if !throughBreaker, let until = breakerOpenUntil {
                if until > .now() || probing {
                    return .failure(.unavailable("\(address) failed recently; retrying after a backoff"))
                }
                probing = true
            }
            let i: Int
            if fetch && slots.count > connectionsPerKind {
                i = connectionsPerKind + nextFetch % connectionsPerKind
                nextFetch &+= 1
            } else {
                i = next % connectionsPerKind
                next &+= 1
            }
            if let existing = slots[i] { return .success(existing) }
            let connecting = connect(fetch: i >= connectionsPerKind)
            slots[i] = connecting
            return .success(connecting)
        }
        let channelFuture: EventLoopFuture<any Channel>
        switch admitted {
        case .failure(let e): return loop.makeFailedFuture(e)
        case .success(let f): channelFuture = f
        }
        let result = channelFuture.flatMap { channel -> EventLoopFuture<RESPValue> in
            // On the channel's loop: an active channel hands the write to the handler at
            // once, which answers it or fails it when the channel closes; a closed one
            // would drop it unanswered, so the call fails here (it was not sent).
            guard channel.isActive else {
                return channel.eventLoop.makeFailedFuture(
                    PeerError.connection("\(self.address): connection closed before the command was sent"))
            }
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            channel.writeAndFlush(PendingCall(arguments: arguments, promise: promise), promise: nil)
            return promise.futureResult
        }
        result.whenComplete { [self] outcome in
            switch outcome {
            case .success: recordSuccess()
            case .failure(let error):
                if (error as? PeerError)?.isTransport ?? true { recordFailure(channelFuture) }
            }
        }
        return result.hop(to: loop)
    }

    /// Opens the first connection for ordinary calls and the first for fetches now,
    /// so that the first calls do not wait for a connect (a node does this for each
    /// new member). A connection that fails is forgotten, and the next call tries
    /// again; the breaker is not touched.
    public func connectAll() {
        let opened: [EventLoopFuture<any Channel>] = lock.withLock {
            guard !closed else { return [] }
            var opened: [EventLoopFuture<any Channel>] = []
            for i in Set([0, connectionsPerKind % slots.count]) where slots[i] == nil {
                let f = connect(fetch: i >= connectionsPerKind)
                slots[i] = f
                opened.append(f)
            }
            return opened
        }
        for f in opened {
            f.whenFailure { [weak self] _ in
                guard let self else { return }
                self.lock.withLock {
                    for i in self.slots.indices where self.slots[i] === f { self.slots[i] = nil }
                }
            }
        }
    }

    /// Closes every connection; later calls fail.
    public func close() {
        let open: [EventLoopFuture<any Channel>] = lock.withLock {
            closed = true
            defer { slots = slots.map { _ in nil } }
            return slots.compactMap { $0 }
        }
        for f in open { f.whenSuccess { $0.close(promise: nil) } }
    }

    /// The peer was heard from (it sent this node a command): it is alive, so the
    /// breaker closes and calls, invalidations above all, go to it again at once.
    public func markAlive() {
        if breakerEverOpened.load(ordering: .relaxed) { recordSuccess() }
    }

    private func recordSuccess() {
        let closed: Bool = lock.withLock {
            let wasOpen = breakerOpenUntil != nil
            breakerOpenUntil = nil
            breakerBackoff = options.breakerBackoffMilliseconds
            probing = false
            return wasOpen
        }
        if closed { onBreakerChange?(false) }
    }

    private func recordFailure(_ channelFuture: EventLoopFuture<any Channel>) {
        let opened: Bool = lock.withLock {
            failures += 1
            // Forget the failed connection so the next call opens a new one.
            for i in slots.indices where slots[i] === channelFuture { slots[i] = nil }
            if probing {  // a failed probe: back off longer
                breakerBackoff = min(breakerBackoff * 2, options.breakerMaxBackoffMilliseconds)
            }
            let wasOpen = breakerOpenUntil != nil
            breakerOpenUntil = .now() + .milliseconds(breakerBackoff)
            breakerEverOpened.store(true, ordering: .relaxed)
            probing = false
            return !wasOpen
        }
        if opened { onBreakerChange?(true) }
    }

    /// Whether the peer answers a `PING` within the timeout, on an ordinary connection.
    private func isAlive() -> EventLoopFuture<Void> {
        call([ByteBuffer(string: "PING")]).flatMapThrowing { reply in
            if case .error(let e) = reply, !e.hasPrefix("NOAUTH") { throw PeerError.reply(e) }
        }
    }

    /// Opens one connection (called under `lock`); `fetch`: one for fetches, whose
    /// deadline a live peer extends up to the load timeout.
    private func connect(fetch: Bool = false) -> EventLoopFuture<any Channel> {
        let timeout = TimeAmount.milliseconds(options.timeoutMilliseconds)
        let longest = fetch ? TimeAmount.milliseconds(max(options.timeoutMilliseconds,
                                                          options.loadTimeoutMilliseconds ?? 0)) : timeout
        let loops: any EventLoopGroup = group
        var liveness: (@Sendable () -> EventLoopFuture<Void>)?
        if fetch {
            liveness = { [weak self] () -> EventLoopFuture<Void> in
                guard let self else {
                    return loops.next().makeFailedFuture(PeerError.connection("the client is gone"))
                }
                return self.isAlive()
            }
        }
        let limits = options.limits
        let address = self.address
        let password = options.password
        let sslContext = self.sslContext
        let sni = options.tls?.sniName(forHost: host)
        let future = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: sslContext, serverHostname: sni))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPReplyDecoder(limits: limits)),
                        PipelinedClientHandler(address: address, timeout: timeout, longest: longest, liveness: liveness),
                    ])
                }
            }
            .connect(host: host, port: port)
            .flatMapErrorThrowing { error in throw PeerError.connection("\(address): \(error)") }
        let selfName = options.selfName
        guard password != nil || selfName != nil else { return forgetOnClose(future) }
        return forgetOnClose(future.flatMap { channel in
            var first = channel.eventLoop.makeSucceededVoidFuture()
            if let password {
                let promise = channel.eventLoop.makePromise(of: RESPValue.self)
                channel.writeAndFlush(PendingCall(arguments: [ByteBuffer(string: "AUTH"), ByteBuffer(string: password)],
                                                  promise: promise), promise: nil)
                first = promise.futureResult.flatMapThrowing { reply in
                    if case .error(let e) = reply {
                        channel.close(promise: nil)
                        throw PeerError.reply("AUTH to \(address) failed: \(e)")
                    }
                }
            }
            if let selfName {
                // Pipelined behind AUTH; its reply (an error from an older node) is not waited for.
                let promise = channel.eventLoop.makePromise(of: RESPValue.self)
                channel.writeAndFlush(PendingCall(arguments: [ByteBuffer(string: "BC.IAM"), ByteBuffer(string: selfName)],
                                                  promise: promise), promise: nil)
            }
            return first.map { channel }
        })
    }

    /// Forgets the connection `future` (the one kept in a slot) when it closes, so the
    /// next call reconnects instead of writing to a closed channel.
    private func forgetOnClose(_ future: EventLoopFuture<any Channel>) -> EventLoopFuture<any Channel> {
        future.whenSuccess { [weak self] channel in
            channel.closeFuture.whenComplete { _ in
                guard let self else { return }
                self.lock.withLock {
                    for i in self.slots.indices where self.slots[i] === future { self.slots[i] = nil }
                }
            }
        }
        return future
    }
}

/// A command with the promise of its reply, written into a client pipeline.
struct PendingCall {
    var arguments: [ByteBuffer]
    var promise: EventLoopPromise<RESPValue>
}

/// Matches replies to pipelined commands in order. A reply overdue past the deadline
/// closes the connection (the pipeline cannot be resynchronised), failing every
/// command still waiting on it.
final class PipelinedClientHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = PendingCall
    typealias OutboundOut = ByteBuffer

    private let address: String
    private let timeout: TimeAmount
    /// The longest a call may wait when the peer answers liveness checks (= timeout
    /// without them).
    private let longest: TimeAmount
    private let liveness: (@Sendable () -> EventLoopFuture<Void>)?
    private var waiting = CircularBuffer<(promise: EventLoopPromise<RESPValue>, deadline: NIODeadline, last: NIODeadline)>()
    private var timer: Scheduled<Void>?
    private var checking = false
    private var failure: PeerError?

    init(address: String, timeout: TimeAmount, longest: TimeAmount? = nil,
         liveness: (@Sendable () -> EventLoopFuture<Void>)? = nil) {
        self.address = address
        self.timeout = timeout
        self.longest = longest ?? timeout
        self.liveness = liveness
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let call = unwrapOutboundIn(data)
        if let failure {
            call.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 + call.arguments.reduce(0) { $0 + $1.readableBytes + 16 })
        buffer.writeRESPCommand(call.arguments)
        let now = NIODeadline.now()
        waiting.append((call.promise, now + timeout, now + longest))
        if timer == nil { armTimer(context: context) }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        guard let first = waiting.popFirst() else {
            fail(context: context, .protocolViolation("\(address) sent a reply nobody asked for"))
            return
        }
        first.promise.succeed(value)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, .connection("\(address): \(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connection("\(address) closed the connection"))
        timer?.cancel()
        context.fireChannelInactive()
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard let first = waiting.first else { timer = nil; return }
        timer = context.eventLoop.scheduleTask(deadline: first.deadline) { [self] in
            timer = nil
            guard let head = waiting.first else { return }
            let now = NIODeadline.now()
            if head.deadline > now {
                armTimer(context: context)
            } else if let liveness, head.last > now {
                checkLiveness(context: context, liveness)
            } else {
                let waited = (head.last > head.deadline ? longest : timeout).nanoseconds / 1_000_000
                fail(context: context, .timeout("\(address) did not answer within \(waited) ms"))
            }
        }
    }

    /// The head call is overdue but may be waiting for a slow load: ask the peer
    /// whether it is alive (on another connection). Alive: every waiting call gets
    /// another `timeout` (never past its `last`). Not: fail them all as a timeout.
    private func checkLiveness(context: ChannelHandlerContext, _ liveness: @Sendable () -> EventLoopFuture<Void>) {
        guard !checking else { return }
        checking = true
        let loop = context.eventLoop
        let ctx = NIOLoopBound(context, eventLoop: loop)
        liveness().hop(to: loop).whenComplete { [self] result in
            checking = false
            let context = ctx.value
            guard failure == nil else { return }
            switch result {
            case .success:
                let extended = NIODeadline.now() + timeout
                for i in waiting.indices { waiting[i].deadline = min(extended, waiting[i].last) }
                armTimer(context: context)
            case .failure(let e):
                fail(context: context, .timeout("\(address) did not answer within \(timeout.nanoseconds / 1_000_000) ms (liveness check: \(e))"))
            }
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: PeerError) {
        if failure == nil { failure = error }
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: PeerError) {
        if failure == nil { failure = error }
        // Every waiting command was written: a lost connection leaves its outcome unknown.
        let sent: PeerError
        if case .connection(let s) = error { sent = .noReply(s) } else { sent = error }
        while let w = waiting.popFirst() { w.promise.fail(sent) }
    }
}

/// `host:port` (or `[v6]:port`) → its parts.
func splitHostPort(_ address: String) -> (String, Int)? {
    guard let colon = address.lastIndex(of: ":") else { return nil }
    var host = String(address[..<colon])
    guard let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port), !host.isEmpty else { return nil }
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
}

// MARK: - Group operations (BC.GET / BC.SET / BC.DEL), for applications

extension PeerClient {
    /// `BC.GET group key`: the value and its remaining lifetime, or nil.
    public func get(group: String, key: [UInt8]) -> EventLoopFuture<LoadedValue?> {
        call([ByteBuffer(string: "BC.GET"), ByteBuffer(string: group), ByteBuffer(bytes: key)])
            .flatMapThrowing { try Node.decodeGetReply($0) }
    }

    /// `BC.SET group key value ttl`: ``TTL/default`` is the group's default.
    public func set(group: String, key: [UInt8], value: [UInt8], ttl: TTL = .default) -> EventLoopFuture<Void> {
        let ms: Int64
        switch ttl {
        case .default: ms = 0
        case .never: ms = -1
        case .milliseconds(let m): ms = m
        }
        return call([ByteBuffer(string: "BC.SET"), ByteBuffer(string: group), ByteBuffer(bytes: key),
                     ByteBuffer(bytes: value), ByteBuffer(string: String(ms))]).flatMapThrowing { reply in
            switch reply {
            case .simpleString: return
            case .error(let e): throw PeerError.reply(e)
            default: throw PeerError.protocolViolation("unexpected reply to BC.SET: \(reply)")
            }
        }
    }

    /// `BC.DEL group key`: whether the owner had the key.
    public func delete(group: String, key: [UInt8]) -> EventLoopFuture<Bool> {
        call([ByteBuffer(string: "BC.DEL"), ByteBuffer(string: group), ByteBuffer(bytes: key)]).flatMapThrowing { reply in
            switch reply {
            case .integer(let n): return n > 0
            case .error(let e): throw PeerError.reply(e)
            default: throw PeerError.protocolViolation("unexpected reply to BC.DEL: \(reply)")
            }
        }
    }
}
