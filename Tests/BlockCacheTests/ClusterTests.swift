import Testing
import BlockCache
@testable import BlockCacheCluster
import BlockCacheRESP
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// MARK: - RESP codec

@Suite struct RESPCodec {
    let parser = RESPParser(limits: RESPLimits(maxFrameBytes: 1024, maxBulkBytes: 256, maxArrayLength: 16,
                                               maxDepth: 3, maxLineBytes: 64))

    func request(_ s: String) throws -> (RESPRequest?, Int)? {
        try parser.parseRequest(ByteBuffer(string: s))
    }

    @Test func arrayRequest() throws {
        let r = try #require(try request("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"))
        #expect(r.0?.arguments.map { String(buffer: $0) } == ["GET", "key"])
        #expect(r.1 == 22)
    }

    @Test func everyPrefixOfAFrameNeedsMoreData() throws {
        let frame = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
        for n in 0..<frame.utf8.count {
            #expect(try request(String(frame.utf8.prefix(n))!) == nil, "prefix of \(n) bytes")
        }
        #expect(try request(frame) != nil)
    }

    @Test func pipelinedRequestsParseOneByOne() throws {
        var buffer = ByteBuffer(string: "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\nPING\r\n")
        var names: [String] = []
        while let (r, end) = try parser.parseRequest(buffer) {
            names.append(String(buffer: r!.arguments[0]))
            buffer.moveReaderIndex(to: end)
        }
        #expect(names == ["PING", "PING", "PING"])  // the last one inline
    }

    @Test func inlineCommand() throws {
        let r = try #require(try request("SET  a   b\r\n"))
        #expect(r.0?.arguments.map { String(buffer: $0) } == ["SET", "a", "b"])
    }

    @Test func emptyArrayIsSkipped() throws {
        let r = try #require(try request("*0\r\n"))
        #expect(r.0 == nil && r.1 == 4)
    }

    @Test(arguments: [
        "*1\r\n$abc\r\n",              // not a number
        "*1\r\n:1\r\n",                // not a bulk string
        "*1\r\n$3\r\nGETX\r\n",        // no CRLF after the bulk
        "*1\r\n$-1\r\n",               // null in a request
        "*99\r\n",                     // too many arguments (limit 16)
        "*1\r\n$300\r\n",              // bulk over 256, refused before its bytes come
        "*-5\r\n",                     // negative count
        "*1\r\n$99999999999999999999999\r\n",
    ])
    func malformedRequestsThrow(_ frame: String) {
        #expect(throws: RESPProtocolError.self) { try request(frame) }
    }

    @Test func frameOverTheLimitThrowsBeforeItIsBuffered() {
        // Each bulk is allowed, but together they pass the 1024-byte frame limit.
        let bulk = "$200\r\n" + String(repeating: "x", count: 200) + "\r\n"
        let frame = "*6\r\n" + String(repeating: bulk, count: 6)
        #expect(throws: RESPProtocolError.self) { try request(frame) }
        // A long line without a newline is refused once it passes the line limit.
        #expect(throws: RESPProtocolError.self) { try request(String(repeating: "A", count: 100)) }
    }

    @Test func repliesRoundTrip() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .error("ERR nope"), .integer(-42), .bulkString(ByteBuffer(string: "v\r\nw")),
            .bulkString(nil), .array([.integer(1), .array([.bulkString(ByteBuffer(string: "x"))])]), .array(nil),
            .null, .boolean(true), .double(2.5), .map([.simpleString("k"), .integer(1)]),
        ]
        for v in values {
            var b = ByteBuffer()
            b.writeRESPValue(v)
            let (parsed, end) = try #require(try parser.parseValue(b))
            #expect(parsed == v)
            #expect(end == b.writerIndex)
        }
    }

    @Test func nestingDeeperThanTheLimitThrows() {
        #expect(throws: RESPProtocolError.self) { try parser.parseValue(ByteBuffer(string: "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")) }
    }

    @Test func statusAndErrorLinesStayOneLine() {
        // "\r\n" is one Character in Swift: replacing "\r" and "\n" Characters missed it.
        var b = ByteBuffer()
        b.writeRESPError("ERR no group 'x\r\n$6\r\nSECRET\r\n+Y\n\r'")
        b.writeRESPSimpleString("a\r\nb")
        #expect(String(buffer: b) == "-ERR no group 'x  $6  SECRET  +Y  '\r\n+a  b\r\n")
    }

    @Test func decimalsAreWrittenExactly() {
        for v: Int64 in [0, 7, 10, -1, 123_456_789, .max, .min] {
            var b = ByteBuffer()
            b.writeRESPInteger(v)
            #expect(String(buffer: b) == ":\(v)\r\n")
        }
    }
}

// MARK: - Hot-tier admission

@Suite struct HotTierAdmission {
    @Test func aKeyIsAdmittedOnItsSecondRequestNotItsFirst() throws {
        let hot = try HotTier(groupConfiguration: StoreConfiguration(maxEntries: 8000), fraction: 1.0 / 8,
                              defaultBytes: 1 << 20, threshold: 2, maxTTLMilliseconds: 60_000)
        #expect(hot.store.configuration.maxEntries == 1000)
        var firstTime = 0
        for i in 0..<1000 where hot.recordRequest(Array("k\(i)".utf8)) { firstTime += 1 }
        // Count-min collisions may admit a few on first sight, but not most.
        #expect(firstTime < 50)
        #expect(hot.recordRequest(Array("k1".utf8)))
    }

    @Test func hotCopiesNeverOutliveTheCap() throws {
        let hot = try HotTier(groupConfiguration: StoreConfiguration(), fraction: 1.0 / 8,
                              defaultBytes: 1 << 20, threshold: 1, maxTTLMilliseconds: 30)
        #expect(hot.store.configuration.maxBytes == 1 << 20)
        hot.keep(Array("k".utf8), Array("v".utf8), ttl: .never, ifStill: hot.generation(Array("k".utf8)))
        #expect(try hot.store.get("k") != nil)
        usleep(60_000)
        #expect(try hot.store.get("k") == nil)
    }
}

// MARK: - Two nodes in this process

/// Counts a test node's loader calls.
final class Loads: Sendable {
    let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
}

/// A started node with one group "g" (1 MiB) whose loader counts its calls and loads
/// "v:<key>" with a 60 s TTL, or nothing for keys that start with "n".
func startTestNode(_ loads: Loads, timeout: Int64 = 300, tls: TLSSettings? = nil) throws -> Node {
    let group = try Group(name: "g", configuration: StoreConfiguration(maxBytes: 1 << 20)) { key in
        loads.count.add(1, ordering: .relaxed)
        return key.first == UInt8(ascii: "n") ? nil : LoadedValue(Array("v:".utf8) + key, ttl: .milliseconds(60_000))
    }
    var c = NodeConfiguration()
    c.eventLoopThreads = 1
    c.loaderThreads = 2
    c.peerTimeoutMilliseconds = timeout
    c.tls = tls
    let node = try Node(configuration: c, groups: [group])
    try node.start()
    return node
}

@Suite(.serialized) struct TwoNodes {
    @Test func ownersLoadOnceAndWritesReachEveryNode() throws {
        let la = Loads(), lb = Loads()
        let a = try startTestNode(la), b = try startTestNode(lb)
        defer { a.stop(); b.stop() }
        try a.setPeers([b.address])
        try b.setPeers([a.address])
        #expect(a.members == [a.address, b.address].sorted())
        for i in 0..<60 { #expect(try a.get(group: "g", key: Array("k\(i)".utf8))?.bytes == Array("v:k\(i)".utf8)) }
        for i in 0..<60 { _ = try b.get(group: "g", key: Array("k\(i)".utf8)) }
        #expect(la.count.load(ordering: .relaxed) + lb.count.load(ordering: .relaxed) == 60)
        #expect(la.count.load(ordering: .relaxed) > 0 && lb.count.load(ordering: .relaxed) > 0)

        // The TTL travels with the value.
        let v = try #require(try b.get(group: "g", key: Array("k1".utf8)))
        guard case .milliseconds(let ms) = v.ttl else { Issue.record("no TTL: \(v.ttl)"); return }
        #expect(ms > 50_000 && ms <= 60_000)

        for i in 0..<20 {
            let k = Array("w\(i)".utf8)
            _ = try b.get(group: "g", key: k)
            _ = try b.get(group: "g", key: k)
            try a.set(group: "g", key: k, value: Array("new".utf8))
            #expect(try b.get(group: "g", key: k)?.bytes == Array("new".utf8))
            #expect(try a.delete(group: "g", key: k))
            #expect(try b.get(group: "g", key: k)?.bytes == Array("v:w\(i)".utf8))
        }
        #expect(try a.get(group: "g", key: Array("nope".utf8)) == nil)
        #expect(throws: CacheError.self) { try a.get(group: "missing", key: [1]) }
    }

    @Test func aDeadOwnerCostsOneFailureThenLocalLoads() throws {
        let la = Loads(), lb = Loads()
        let a = try startTestNode(la), b = try startTestNode(lb)
        defer { a.stop() }
        try a.setPeers([b.address])
        b.stop()
        for i in 0..<40 { #expect(try a.get(group: "g", key: Array("d\(i)".utf8))?.bytes == Array("v:d\(i)".utf8)) }
        #expect(la.count.load(ordering: .relaxed) == 40)
        let peer = try #require(a.view.peers[b.address])
        #expect(peer.isBreakerOpen)
        #expect(peer.failureCount >= 1 && peer.failureCount <= 2)
    }
}
