// A small etcd v3 client over etcd's JSON gRPC-gateway (HTTP/1.1, or HTTPS), on SwiftNIO.
//
// Only what cluster membership needs: leases (grant, keep-alive, revoke), put, a prefix
// range, and a prefix watch. Every unary call opens one short-lived connection (etcd is
// expected on loopback or a near network), sends one POST and reads the whole answer
// under a deadline. A watch is one long-lived POST whose chunked body is a sequence of
// JSON objects.
//
// Gateway conventions this code follows: int64 fields are rendered as JSON strings
// ("revision":"12") and accepted as strings or numbers; bytes fields are base64.
// Streaming endpoints (/v3/lease/keepalive, /v3/watch) wrap each message as
// {"result":{...}} or {"error":{...}}.

public import BlockCache
import FoundationEssentials
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

// MARK: - Errors

/// A failed etcd request: which endpoint and path, and why.
public struct EtcdError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, coarsely.
    public enum Kind: Sendable, Equatable {
        /// The endpoint string could not be parsed (`http://host:port` or `https://host:port`),
        /// or there are no endpoints.
        case invalidEndpoint
        /// No endpoint accepted a connection.
        case connectFailed
        /// The request did not complete before its deadline.
        case timedOut
        /// The connection failed or closed before the answer was complete.
        case connectionLost
        /// etcd answered with a non-200 HTTP status.
        case httpStatus(Int)
        /// The answer could not be understood.
        case malformedResponse
        /// etcd answered 200 but the message reports an error (or a watch was canceled).
        case rejected
        /// A watch stream ended without being canceled by its owner.
        case streamEnded
    }

    /// What went wrong, coarsely.
    public let kind: Kind
    /// The endpoint the request went to (all of them, for a failure to connect anywhere).
    public let endpoint: String
    /// The gateway path, e.g. `/v3/kv/range`.
    public let path: String
    /// A human-readable explanation (for `.httpStatus`, the start of the response body).
    public let detail: String
    /// The underlying error, when there is one (a connect or I/O error).
    public let underlying: (any Error)?

    /// Creates an error; `detail` should say what happened in a few words.
    public init(_ kind: Kind, endpoint: String, path: String, detail: String, underlying: (any Error)? = nil) {
        self.kind = kind
        self.endpoint = endpoint
        self.path = path
        self.detail = detail
        self.underlying = underlying
    }

    /// One line: `etcd PATH at ENDPOINT: [HTTP STATUS: ]DETAIL[ (UNDERLYING)]`.
    public var description: String {
        var text = "etcd \(path) at \(endpoint): "
        if case .httpStatus(let status) = kind { text += "HTTP \(status): " }
        text += detail
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

// MARK: - Client

/// An etcd v3 client speaking the JSON gateway over HTTP/1.1 (TLS for `https://` endpoints).
///
/// Thread-safe; every method may be called from any thread. Futures complete on a loop of
/// the client's event loop group. Each call has a deadline of `requestTimeout`, covering
/// connecting (to every endpoint tried), sending and reading the whole answer.
public final class EtcdClient: Sendable {
    private let endpoints: [Endpoint?]
    private let endpointsText: String
    private let group: any EventLoopGroup
    private let requestTimeout: TimeAmount
    /// TLS for `https://` endpoints.
    private let sslContext: NIOSSLContext?
    private let tlsSettings: TLSClientSettings
    /// Index of the endpoint that last accepted a connection; the next call starts there.
    private let preferred = Atomic<Int>(0)

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - endpoints: etcd client URLs such as `"http://127.0.0.1:2379"` or
    ///     `"https://etcd1:2379"`. A call tries them in turn, starting with the last one
    ///     that worked, and moves on when one cannot be connected to.
    ///   - eventLoopGroup: where connections and timers run (a `MultiThreadedEventLoopGroup`).
    ///   - requestTimeout: the deadline of each unary call; also bounds how long a watch may
    ///     take to be established.
    ///   - tls: for `https://` endpoints: the roots etcd's certificate must chain to and a
    ///     client certificate for an etcd that asks for one (`--client-cert-auth`).
    ///     nil = the system's roots and no client certificate.
    /// - Throws: `.invalidArgument` when TLS files cannot be read (only with an
    ///   `https://` endpoint).
    public init(endpoints: [String], eventLoopGroup: any EventLoopGroup, requestTimeout: TimeAmount = .seconds(2),
                tls: TLSClientSettings? = nil) throws(CacheError) {
        let parsed = endpoints.map(Endpoint.init(parsing:))
        self.endpoints = parsed
        self.endpointsText = endpoints.isEmpty ? "(no endpoints)" : endpoints.joined(separator: ", ")
        self.group = eventLoopGroup
        self.requestTimeout = requestTimeout
        let settings = tls ?? TLSClientSettings()
        self.tlsSettings = settings
        self.sslContext = parsed.contains { $0?.secure == true } ? try settings.makeContext() : nil
    }

    /// Grants a lease of `ttlSeconds` and returns its ID.
    public func grantLease(ttlSeconds: Int) -> EventLoopFuture<Int64> {
        let path = "/v3/lease/grant"
        return unary(path, LeaseGrantRequest(TTL: String(ttlSeconds), ID: "0")).flatMapThrowing { response in
            let grant: LeaseGrantResponse = try response.decode()
            if let error = grant.error, !error.isEmpty { throw response.error(.rejected, error) }
            guard let id = grant.ID?.value, id != 0 else { throw response.error(.malformedResponse, "no lease ID in answer") }
            return id
        }
    }

    /// Renews a lease once and returns its remaining TTL in seconds; 0 means the lease is gone
    /// (expired or revoked), and a new one must be granted.
    public func keepAliveOnce(leaseID: Int64) -> EventLoopFuture<Int64> {
        let path = "/v3/lease/keepalive"
        return unary(path, LeaseKeepAliveRequest(ID: String(leaseID))).flatMapThrowing { response in
            // A streaming endpoint: the body holds one {"result":...} (or {"error":...}) object.
            var splitter = JSONObjectSplitter()
            let objects: [[UInt8]]
            do { objects = try splitter.feed(response.body) } catch {
                throw response.error(.malformedResponse, "undecodable answer: \(error)")
            }
            guard let first = objects.first else { throw response.error(.malformedResponse, "empty keep-alive answer") }
            let envelope: StreamEnvelope<LeaseKeepAliveResponse> = try response.decode(first)
            if let error = envelope.error { throw response.error(.rejected, error.message) }
            guard let result = envelope.result else { throw response.error(.malformedResponse, "keep-alive answer has no result") }
            return max(0, result.TTL?.value ?? 0)
        }
    }

    /// Revokes a lease, deleting every key attached to it. A lease that no longer exists
    /// counts as revoked.
    public func revoke(leaseID: Int64) -> EventLoopFuture<Void> {
        let path = "/v3/lease/revoke"
        return unary(path, LeaseRevokeRequest(ID: String(leaseID)), acceptNotFound: true).map { _ in }
    }

    /// Puts `key` = `value`, attached to `leaseID` when given (the key then goes when the lease does).
    public func put(key: String, value: String, leaseID: Int64?) -> EventLoopFuture<Void> {
        let request = PutRequest(
            key: Data(key.utf8).base64EncodedString(),
            value: Data(value.utf8).base64EncodedString(),
            lease: leaseID.map { String($0) }
        )
        return unary("/v3/kv/put", request).map { _ in }
    }

    /// Reads every key under `prefix` (keys and values as UTF-8 text) and the store's revision
    /// at the time of the read. An empty prefix reads the whole keyspace.
    public func range(prefix: String) -> EventLoopFuture<(kvs: [(key: String, value: String)], revision: Int64)> {
        let (key, end) = Self.prefixRange(prefix)
        let request = RangeRequest(key: Data(key).base64EncodedString(), range_end: Data(end).base64EncodedString())
        return unary("/v3/kv/range", request).flatMapThrowing { response in
            let decoded: RangeResponse = try response.decode()
            guard let revision = decoded.header?.revision?.value else {
                throw response.error(.malformedResponse, "range answer has no header revision")
            }
            var kvs: [(key: String, value: String)] = []
            for kv in decoded.kvs ?? [] {
                // An absent value is an empty one (proto3 JSON omits empty fields).
                guard let key = Self.text(base64: kv.key), let value = Self.text(base64: kv.value ?? "") else {
                    throw response.error(.malformedResponse, "range answer has a key or value that is not base64")
                }
                kvs.append((key: key, value: value))
            }
            return (kvs: kvs, revision: revision)
        }
    }

    /// Streams watch responses for every key under `prefix` from `startRevision`.
    ///
    /// `onChange` is called once per response that carries events; `onEnd` exactly once, when
    /// the stream ends or fails (with the reason), or after `cancel()` (with `nil`). Both are
    /// called on an event loop of the client's group, never after `onEnd`. Establishing the
    /// watch (connecting and etcd's "created" answer) is bounded by the request timeout; once
    /// established the stream has no deadline. A watch canceled by etcd (e.g. because
    /// `startRevision` was compacted) ends with `EtcdError.Kind.rejected`.
    public func watch(
        prefix: String,
        startRevision: Int64,
        onChange: @escaping @Sendable () -> Void,
        onEnd: @escaping @Sendable ((any Error)?) -> Void
    ) -> EtcdWatch {
        let path = "/v3/watch"
        let loop = group.next()
        let watch = EtcdWatch(loop: loop, path: path, endpoint: endpointsText, onChange: onChange, onEnd: onEnd)
        let (key, end) = Self.prefixRange(prefix)
        let request = WatchRequest(create_request: .init(
            key: Data(key).base64EncodedString(),
            range_end: Data(end).base64EncodedString(),
            start_revision: String(startRevision)
        ))
        let body: [UInt8]
        do { body = try Self.encode(request) } catch {
            loop.execute { watch.fail(EtcdError(.malformedResponse, endpoint: self.endpointsText, path: path, detail: "cannot encode request", underlying: error)) }
            return watch
        }
        let deadline = NIODeadline.now() + requestTimeout
        loop.execute {
            watch.armDeadline(deadline, timeout: self.requestTimeout)
            self.connect(path: path, loop: loop, deadline: deadline, sink: watch).whenComplete { result in
                switch result {
                case .success(let (channel, endpoint)):
                    if watch.attach(channel: channel, endpoint: endpoint.text) {
                        Self.send(path: path, body: body, endpoint: endpoint, on: channel)
                    }
                case .failure(let error):
                    watch.fail(error)
                }
            }
        }
        return watch
    }

    // MARK: Plumbing

    /// One POST with a JSON body; the whole answer, or an `EtcdError`. A non-200 status is an
    /// error, except 404 when `acceptNotFound` (etcd's "not found", e.g. for a revoked lease).
    private func unary(_ path: String, _ request: some Encodable, acceptNotFound: Bool = false) -> EventLoopFuture<RawResponse> {
        let loop = group.next()
        let body: [UInt8]
        do { body = try Self.encode(request) } catch {
            return loop.makeFailedFuture(EtcdError(.malformedResponse, endpoint: endpointsText, path: path, detail: "cannot encode request", underlying: error))
        }
        let deadline = NIODeadline.now() + requestTimeout
        let collector = UnaryCollector(promise: loop.makePromise(), path: path, endpoint: endpointsText)
        let timeoutMS = requestTimeout.nanoseconds / 1_000_000
        let timer = loop.scheduleTask(deadline: deadline) {
            collector.fail(EtcdError(.timedOut, endpoint: collector.endpoint, path: path, detail: "no complete answer within \(timeoutMS) ms"))
        }
        connect(path: path, loop: loop, deadline: deadline, sink: collector).whenComplete { result in
            switch result {
            case .success(let (channel, endpoint)):
                if collector.attach(channel: channel, endpoint: endpoint.text) {
                    Self.send(path: path, body: body, endpoint: endpoint, on: channel)
                }
            case .failure(let error):
                collector.fail(error)
            }
        }
        return collector.promise.futureResult.always { _ in timer.cancel() }.flatMapThrowing { response in
            if response.status == 200 { return response }
            if response.status == 404 && acceptNotFound,
               let answer = try? JSONDecoder().decode(GatewayError.self, from: Data(response.body)), answer.code == 5 {
                return response  // gRPC NotFound, e.g. "requested lease not found"
            }
            throw response.error(.httpStatus(response.status), response.bodyText)
        }
    }

    /// Connects to the first endpoint that accepts, starting with the preferred one, with an
    /// HTTP/1.1 client pipeline that reports the response to `sink`.
    private func connect(
        path: String, loop: any EventLoop, deadline: NIODeadline, sink: any HTTPResponseSink & Sendable
    ) -> EventLoopFuture<(any Channel, Endpoint)> {
        let count = endpoints.count
        guard count > 0 else {
            return loop.makeFailedFuture(EtcdError(.invalidEndpoint, endpoint: endpointsText, path: path, detail: "no endpoints configured"))
        }
        let start = preferred.load(ordering: .relaxed) % count
        let perEndpoint = TimeAmount.nanoseconds(max(requestTimeout.nanoseconds / Int64(count), 200_000_000))

        /// `failures`: why each endpoint tried so far did not connect.
        @Sendable func attempt(_ tried: Int, _ failures: [String]) -> EventLoopFuture<(any Channel, Endpoint)> {
            let remaining = deadline - .now()
            let outOfTime = remaining <= .zero
            guard tried < count, !outOfTime else {
                let kind: EtcdError.Kind = outOfTime ? .timedOut : .connectFailed
                let detail = (outOfTime ? "deadline passed while connecting" : "cannot connect to any endpoint")
                    + (failures.isEmpty ? "" : ": " + failures.joined(separator: "; "))
                return loop.makeFailedFuture(EtcdError(kind, endpoint: self.endpointsText, path: path, detail: detail))
            }
            let index = (start + tried) % count
            guard let endpoint = self.endpoints[index] else {
                return attempt(tried + 1, failures + ["endpoint #\(index + 1) is not http(s)://host:port"])
            }
            let tls = endpoint.secure ? self.sslContext : nil
            let sni = self.tlsSettings.sniName(forHost: endpoint.host)
            guard let bootstrap = ClientBootstrap(validatingGroup: loop) else {
                return loop.makeFailedFuture(EtcdError(.connectFailed, endpoint: endpoint.text, path: path, detail: "event loop group is not a NIOPosix one"))
            }
            return bootstrap
                .connectTimeout(min(remaining, perEndpoint))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseHandler(sink: sink))
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port)
                .map { channel -> (any Channel, Endpoint) in
                    self.preferred.store(index, ordering: .relaxed)
                    return (channel, endpoint)
                }
                .flatMapError { error in
                    attempt(tried + 1, failures + ["\(endpoint.text): \(Self.connectFailureText(error))"])
                }
        }
        return attempt(0, [])
    }

    /// A short reason for a failed connect ("connection refused" rather than NIO's whole story).
    private static func connectFailureText(_ error: any Error) -> String {
        if let errors = error as? NIOConnectionError, let first = errors.connectionErrors.first {
            return "\(first.error)"
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError { return "connect timed out" }
        return "\(error)"
    }

    /// Writes the request; a write failure surfaces through the pipeline (errorCaught/inactive).
    private static func send(path: String, body: [UInt8], endpoint: Endpoint, on channel: any Channel) {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: endpoint.authority)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { _ in channel.close(promise: nil) }
    }

    private static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }

    /// The etcd key range of a prefix: `[prefix, prefix with its last byte incremented)`, dropping
    /// trailing 0xff bytes first; `"\0"` as range end (everything from the key on) when nothing is
    /// left, and `("\0", "\0")` (the whole keyspace) for an empty prefix.
    static func prefixRange(_ prefix: String) -> (key: [UInt8], end: [UInt8]) {
        let key = Array(prefix.utf8)
        if key.isEmpty { return ([0], [0]) }
        var end = key
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return (key, end)
            }
            end.removeLast()
        }
        return (key, [0])
    }

    private static func text(base64: String) -> String? {
        guard let data = Data(base64Encoded: base64) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: - Watch

/// A running watch; `cancel()` closes it. See `EtcdClient.watch`.
public final class EtcdWatch: @unchecked Sendable {
    // Everything below is confined to `loop`.
    private let loop: any EventLoop
    private let path: String
    private var endpoint: String
    private let onChange: @Sendable () -> Void
    private let onEnd: @Sendable ((any Error)?) -> Void
    private var channel: (any Channel)?
    private var finished = false
    private var created = false
    private var status = 0
    private var errorBody: [UInt8] = []
    private var splitter = JSONObjectSplitter()
    private var deadlineTask: Scheduled<Void>?

    init(loop: any EventLoop, path: String, endpoint: String,
         onChange: @escaping @Sendable () -> Void, onEnd: @escaping @Sendable ((any Error)?) -> Void) {
        self.loop = loop
        self.path = path
        self.endpoint = endpoint
        self.onChange = onChange
        self.onEnd = onEnd
    }

    /// Closes the stream. `onEnd(nil)` follows, unless the stream had already ended.
    /// Safe to call from any thread, and more than once.
    public func cancel() {
        if loop.inEventLoop {
            finish(nil)
        } else {
            loop.execute { self.finish(nil) }
        }
    }

    /// Ends the watch with `.timedOut` unless etcd has confirmed it by `deadline`.
    func armDeadline(_ deadline: NIODeadline, timeout: TimeAmount) {
        guard !finished else { return }
        let ms = timeout.nanoseconds / 1_000_000
        deadlineTask = loop.scheduleTask(deadline: deadline) {
            guard !self.created else { return }
            self.finish(EtcdError(.timedOut, endpoint: self.endpoint, path: self.path, detail: "watch not established within \(ms) ms"))
        }
    }

    /// Records the connected channel; false (and the channel closed) when already finished.
    func attach(channel: any Channel, endpoint: String) -> Bool {
        self.endpoint = endpoint
        guard !finished else {
            channel.close(promise: nil)
            return false
        }
        self.channel = channel
        return true
    }

    private func error(_ kind: EtcdError.Kind, _ detail: String, _ underlying: (any Error)? = nil) -> EtcdError {
        EtcdError(kind, endpoint: endpoint, path: path, detail: detail, underlying: underlying)
    }

    private func finish(_ error: (any Error)?) {
        guard !finished else { return }
        finished = true
        deadlineTask?.cancel()
        deadlineTask = nil
        channel?.close(promise: nil)
        channel = nil
        onEnd(error)
    }

    private func handle(message bytes: [UInt8]) {
        let envelope: StreamEnvelope<WatchResponse>
        do {
            envelope = try JSONDecoder().decode(StreamEnvelope<WatchResponse>.self, from: Data(bytes))
        } catch {
            return finish(self.error(.malformedResponse, "undecodable watch message: \(RawResponse.preview(bytes))", error))
        }
        if let error = envelope.error {
            return finish(self.error(.rejected, error.message))
        }
        guard let result = envelope.result else {
            return finish(self.error(.malformedResponse, "watch message has no result: \(RawResponse.preview(bytes))"))
        }
        if result.created == true {
            created = true
            deadlineTask?.cancel()
            deadlineTask = nil
        }
        if result.canceled == true {
            var reason = result.cancel_reason.flatMap { $0.isEmpty ? nil : $0 } ?? "watch canceled by etcd"
            if let compacted = result.compact_revision?.value, compacted != 0 {
                reason += " (compacted up to revision \(compacted))"
            }
            return finish(self.error(.rejected, reason))
        }
        if let events = result.events, !events.isEmpty {
            onChange()
        }
    }
}

extension EtcdWatch: HTTPResponseSink {
    func head(_ head: HTTPResponseHead) {
        status = Int(head.status.code)
    }

    func body(_ buffer: ByteBuffer) {
        guard !finished else { return }
        if status != 200 {
            if errorBody.count < 4096 { errorBody += buffer.readableBytesView.prefix(4096 - errorBody.count) }
            return
        }
        let messages: [[UInt8]]
        do { messages = try splitter.feed(buffer.readableBytesView) } catch {
            return finish(self.error(.malformedResponse, "undecodable watch stream: \(error)"))
        }
        for message in messages {
            handle(message: message)
            if finished { return }
        }
    }

    func end() {
        if status != 200 {
            finish(self.error(.httpStatus(status), RawResponse.preview(errorBody)))
        } else {
            finish(self.error(.streamEnded, "watch stream ended by the server"))
        }
    }

    func fail(_ error: any Error) {
        if error is EtcdError {
            finish(error)
        } else if error is ConnectionClosed {
            finish(self.error(.connectionLost, "connection closed"))
        } else if let parserError = error as? HTTPParserError, parserError != .invalidEOFState {
            finish(self.error(.malformedResponse, "invalid HTTP answer", error))
        } else {
            finish(self.error(.connectionLost, "connection failed", error))
        }
    }
}

// MARK: - HTTP plumbing

/// Receives one HTTP response. Called on the channel's event loop only.
protocol HTTPResponseSink: AnyObject {
    func head(_ head: HTTPResponseHead)
    func body(_ buffer: ByteBuffer)
    func end()
    /// The connection failed or closed; ignored after the response is complete.
    func fail(_ error: any Error)
}

/// Marks a connection that closed before the response ended.
struct ConnectionClosed: Error {}

/// Forwards HTTP response parts to a sink.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let sink: any HTTPResponseSink

    init(sink: any HTTPResponseSink) {
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): sink.head(head)
        case .body(let buffer): sink.body(buffer)
        case .end: sink.end()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sink.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.fail(ConnectionClosed())
        context.fireChannelInactive()
    }
}

/// A complete unary answer.
struct RawResponse: Sendable {
    var status: Int
    var body: [UInt8]
    var endpoint: String
    var path: String

    var bodyText: String { Self.preview(body) }

    func error(_ kind: EtcdError.Kind, _ detail: String, _ underlying: (any Error)? = nil) -> EtcdError {
        EtcdError(kind, endpoint: endpoint, path: path, detail: detail, underlying: underlying)
    }

    func decode<T: Decodable>(_ bytes: [UInt8]? = nil) throws -> T {
        let bytes = bytes ?? body
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw self.error(.malformedResponse, "undecodable answer: \(Self.preview(bytes))", error)
        }
    }

    /// At most 512 bytes of a body, as text, for messages.
    static func preview(_ bytes: [UInt8]) -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        var slice = bytes[...]
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        guard !slice.isEmpty else { return "(empty body)" }
        let text = String(decoding: slice.prefix(512), as: UTF8.self)
        return slice.count > 512 ? text + "…" : text
    }
}

/// Collects one unary answer into a promise. Confined to the channel's loop.
final class UnaryCollector: HTTPResponseSink, @unchecked Sendable {
    static let maxBody = 16 << 20

    let promise: EventLoopPromise<RawResponse>
    let path: String
    private(set) var endpoint: String
    private var channel: (any Channel)?
    private var status = 0
    private var body: [UInt8] = []
    private var done = false

    init(promise: EventLoopPromise<RawResponse>, path: String, endpoint: String) {
        self.promise = promise
        self.path = path
        self.endpoint = endpoint
    }

    /// Records the connected channel; false (and the channel closed) when already done.
    func attach(channel: any Channel, endpoint: String) -> Bool {
        self.endpoint = endpoint
        guard !done else {
            channel.close(promise: nil)
            return false
        }
        self.channel = channel
        return true
    }

    func head(_ head: HTTPResponseHead) {
        status = Int(head.status.code)
    }

    func body(_ buffer: ByteBuffer) {
        guard !done else { return }
        guard body.count + buffer.readableBytes <= Self.maxBody else {
            return fail(EtcdError(.malformedResponse, endpoint: endpoint, path: path, detail: "answer larger than \(Self.maxBody) bytes"))
        }
        body += buffer.readableBytesView
    }

    func end() {
        complete(.success(RawResponse(status: status, body: body, endpoint: endpoint, path: path)))
    }

    func fail(_ error: any Error) {
        if error is EtcdError {
            complete(.failure(error))
        } else if error is ConnectionClosed {
            complete(.failure(EtcdError(.connectionLost, endpoint: endpoint, path: path, detail: "connection closed before the answer was complete")))
        } else if let parserError = error as? HTTPParserError, parserError != .invalidEOFState {
            complete(.failure(EtcdError(.malformedResponse, endpoint: endpoint, path: path, detail: "invalid HTTP answer", underlying: error)))
        } else {
            complete(.failure(EtcdError(.connectionLost, endpoint: endpoint, path: path, detail: "connection failed", underlying: error)))
        }
    }

    private func complete(_ result: Result<RawResponse, any Error>) {
        guard !done else { return }
        done = true
        channel?.close(promise: nil)
        channel = nil
        promise.completeWith(result)
    }
}

/// An `http://host:port` or `https://host:port` endpoint.
struct Endpoint: Sendable {
    /// `host:port`, as sent in the Host header.
    var authority: String
    var host: String
    var port: Int
    /// `https://`: TLS.
    var secure = false

    /// `http(s)://host:port`, for messages.
    var text: String { (secure ? "https://" : "http://") + authority }

    /// Parses `http://host:port`, `https://host:port`, `http://[v6]:port` or `host:port`
    /// (plain HTTP; default port 2379).
    init?(parsing text: String) {
        var rest = Substring(text)
        if rest.hasPrefix("http://") {
            rest = rest.dropFirst(7)
        } else if rest.hasPrefix("https://") {
            rest = rest.dropFirst(8)
            secure = true
        } else if rest.contains("://") {
            return nil
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/") else { return nil }
        var host: Substring
        var port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                port = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { return nil }
        var number = 2379
        if let port {
            guard let parsed = Int(port), (1...65535).contains(parsed) else { return nil }
            number = parsed
        }
        self.authority = (rest.hasPrefix("[") ? "[\(host)]" : String(host)) + ":\(number)"
        self.host = String(host)
        self.port = number
    }
}

// MARK: - JSON stream splitting

/// Splits a byte stream holding a sequence of JSON objects (as the gateway sends on
/// streaming endpoints) into whole objects, whatever the chunking: it tracks nesting depth
/// outside strings, and string escapes. Whitespace, commas and brackets between top-level
/// objects are skipped; anything else there is an error.
struct JSONObjectSplitter {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    var maxObjectSize = 16 << 20
    private var current: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    /// Feeds more bytes; returns the objects they completed, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [[UInt8]] {
        var objects: [[UInt8]] = []
        for byte in bytes {
            if depth == 0 {
                switch byte {
                case UInt8(ascii: "{"):
                    current = [byte]
                    depth = 1
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"),
                     UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"):
                    continue
                default:
                    throw Malformed(description: "unexpected byte 0x\(String(byte, radix: 16)) between JSON objects in stream")
                }
                continue
            }
            current.append(byte)
            guard current.count <= maxObjectSize else {
                throw Malformed(description: "JSON object in stream larger than \(maxObjectSize) bytes")
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    objects.append(current)
                    current = []
                }
            default:
                break
            }
        }
        return objects
    }
}

// MARK: - Gateway JSON

/// An int64 as the gateway renders it: a JSON string, or (accepted too) a number.
struct FlexInt64: Decodable, Sendable {
    var value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let parsed = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an int64: \(text)")
            }
            value = parsed
        } else {
            value = try container.decode(Int64.self)
        }
    }
}

struct ResponseHeader: Decodable {
    var revision: FlexInt64?
}

/// The error of a streaming message: `{"error":{"grpc_code":..,"message":".."}}` (or a bare string).
struct StreamError: Decodable {
    var message: String

    private enum CodingKeys: String, CodingKey { case message, grpc_code, http_code, code }

    init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            message = text
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = (try? container.decodeIfPresent(String.self, forKey: .message)) ?? nil
        let code = ((try? container.decodeIfPresent(Int.self, forKey: .grpc_code)) ?? nil)
            ?? ((try? container.decodeIfPresent(Int.self, forKey: .code)) ?? nil)
        message = (text ?? "error") + (code.map { " (grpc code \($0))" } ?? "")
    }
}

struct StreamEnvelope<Result: Decodable>: Decodable {
    var result: Result?
    var error: StreamError?
}

/// A unary gateway error: `{"error":"..","message":"..","code":5}` (`code` is the gRPC status).
struct GatewayError: Decodable {
    var code: Int?
}

struct LeaseGrantRequest: Encodable {
    var TTL: String
    var ID: String
}

struct LeaseGrantResponse: Decodable {
    var ID: FlexInt64?
    var TTL: FlexInt64?
    var error: String?
}

struct LeaseKeepAliveRequest: Encodable {
    var ID: String
}

struct LeaseKeepAliveResponse: Decodable {
    var ID: FlexInt64?
    var TTL: FlexInt64?
}

struct LeaseRevokeRequest: Encodable {
    var ID: String
}

struct PutRequest: Encodable {
    var key: String
    var value: String
    var lease: String?
}

struct RangeRequest: Encodable {
    var key: String
    var range_end: String
}

struct RangeResponse: Decodable {
    struct KeyValue: Decodable {
        var key: String
        var value: String?
    }

    var header: ResponseHeader?
    var kvs: [KeyValue]?
}

struct WatchRequest: Encodable {
    struct Create: Encodable {
        var key: String
        var range_end: String
        var start_revision: String
    }

    var create_request: Create
}

struct WatchResponse: Decodable {
    struct Event: Decodable {}

    var header: ResponseHeader?
    var created: Bool?
    var canceled: Bool?
    var cancel_reason: String?
    var compact_revision: FlexInt64?
    var events: [Event]?
}
