import Testing
import BlockCache
@testable import BlockCacheCluster
import BlockCacheRESP
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Throw-away certificates from scripts/make-test-certs.sh, in .build/test-certs.
enum TestCertificates {
    static let directory: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // Under .build (git-ignored); the script makes them once and then reuses them.
        let dir = root.appendingPathComponent(".build/test-certs").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("scripts/make-test-certs.sh").path, dir]
        p.standardOutput = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return dir
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    static func node(_ clientCertificates: TLSSettings.ClientCertificates) -> TLSSettings {
        TLSSettings(certificatePath: path("node.pem"), privateKeyPath: path("node-key.pem"),
                    caPath: path("ca.pem"), clientCertificates: clientCertificates)
    }
}

@Suite(.serialized) struct TLSNodes {
    func makeNode(_ loads: Loads, tls: TLSSettings?) throws -> Node {
        try startTestNode(loads, timeout: 2_000, tls: tls)
    }

    func client(_ node: Node, _ tls: TLSClientSettings?) throws -> PeerClient {
        var o = PeerClient.Options()
        o.connections = 1
        o.timeoutMilliseconds = 2_000
        o.tls = tls
        return try PeerClient(address: node.address, options: o, eventLoopGroup: node.eventLoopGroup)
    }

    func command(_ words: String...) -> [ByteBuffer] { words.map { ByteBuffer(string: $0) } }

    @Test func nodesTalkToEachOtherOverTLS() throws {
        let la = Loads(), lb = Loads()
        let a = try makeNode(la, tls: TestCertificates.node(.peers))
        let b = try makeNode(lb, tls: TestCertificates.node(.peers))
        defer { a.stop(); b.stop() }
        try a.setPeers([b.address])
        try b.setPeers([a.address])
        for i in 0..<40 { #expect(try a.get(group: "g", key: Array("k\(i)".utf8))?.bytes == Array("v:k\(i)".utf8)) }
        for i in 0..<40 { _ = try b.get(group: "g", key: Array("k\(i)".utf8)) }
        // Each key loaded once, by its owner: the calls between the nodes went through.
        #expect(la.value + lb.value == 40)
        #expect(la.value > 0 && lb.value > 0)
        #expect(try #require(a.view.peers[b.address]).failureCount == 0)
        // A write reaches the owner and drops the other copies (BC.DROP over mTLS).
        for i in 0..<10 {
            let k = Array("k\(i)".utf8)
            for _ in 0..<3 { _ = try a.get(group: "g", key: k) }  // a hot copy where a is not the owner
            try b.set(group: "g", key: k, value: Array("new".utf8))
            #expect(try a.get(group: "g", key: k)?.bytes == Array("new".utf8))
        }
    }

    @Test func peerCommandsNeedAClientCertificateButClientsDoNot() throws {
        let a = try makeNode(Loads(), tls: TestCertificates.node(.peers))
        defer { a.stop() }
        let ca = TestCertificates.path("ca.pem")

        let app = try client(a, TLSClientSettings(caPath: ca))
        defer { app.close() }
        try app.set(group: "g", key: Array("x".utf8), value: Array("1".utf8)).wait()
        #expect(try app.get(group: "g", key: Array("x".utf8)).wait()?.bytes == Array("1".utf8))
        for words in [["BC.GET", "g", "x", "PEER"], ["BC.DROP", "g", "x"], ["BC.SETPEERS", "127.0.0.1:1"],
                      ["BC.SET", "g", "x", "2", "0", "PEER"], ["BC.DEL", "g", "x", "PEER"]] {
            let reply = try app.call(words.map { ByteBuffer(string: $0) }).wait()
            guard case .error(let e) = reply else { Issue.record("\(words[0]) ran without a certificate: \(reply)"); continue }
            #expect(e.hasPrefix("NOPERM"))
        }
        #expect(a.members == [a.address])

        let peer = try client(a, TLSClientSettings(caPath: ca, certificatePath: TestCertificates.path("client.pem"),
                                                   privateKeyPath: TestCertificates.path("client-key.pem")))
        defer { peer.close() }
        let reply = try peer.call(command("BC.GET", "g", "x", "PEER")).wait()
        #expect(try Node.decodeGetReply(reply)?.bytes == Array("1".utf8))
    }

    @Test func wrongClientsFailTheHandshake() throws {
        let a = try makeNode(Loads(), tls: TestCertificates.node(.none))
        defer { a.stop() }
        func fails(_ tls: TLSClientSettings?, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let c = try client(a, tls)
            defer { c.close() }
            #expect(throws: PeerError.self, sourceLocation: sourceLocation) { try c.call(command("PING")).wait() }
        }
        try fails(nil)  // plaintext to a TLS port
        try fails(TLSClientSettings(caPath: TestCertificates.path("rogue-ca.pem")))  // untrusted certificate
        // The right roots: the certificate names 127.0.0.1 as an IP SAN.
        let ok = try client(a, TLSClientSettings(caPath: TestCertificates.path("ca.pem")))
        defer { ok.close() }
        #expect(try ok.call(command("PING")).wait() == .simpleString("PONG"))
    }

    @Test func hostnamesAreChecked() throws {
        var tls = TestCertificates.node(.none)
        tls.certificatePath = TestCertificates.path("named.pem")  // DNS:localhost only
        tls.privateKeyPath = TestCertificates.path("named-key.pem")
        let a = try makeNode(Loads(), tls: tls)
        defer { a.stop() }
        let ca = TestCertificates.path("ca.pem")
        func reply(_ tls: TLSClientSettings) throws -> RESPValue? {
            let c = try client(a, tls)
            defer { c.close() }
            return try? c.call(command("PING")).wait()
        }
        #expect(try reply(TLSClientSettings(caPath: ca)) == nil)  // dialled 127.0.0.1: not in the certificate
        #expect(try reply(TLSClientSettings(caPath: ca, serverName: "elsewhere.example")) == nil)
        #expect(try reply(TLSClientSettings(caPath: ca, serverName: "localhost")) == .simpleString("PONG"))
        #expect(try reply(TLSClientSettings(caPath: ca, verifyHostnames: false)) == .simpleString("PONG"))
        #expect(try reply(TLSClientSettings(caPath: TestCertificates.path("rogue-ca.pem"), verifyHostnames: false)) == nil)
    }

    @Test func clientCertificatesForAllRefuseConnectionsWithoutOne() throws {
        let la = Loads()
        let a = try makeNode(la, tls: TestCertificates.node(.all))
        defer { a.stop() }
        let ca = TestCertificates.path("ca.pem")
        let anonymous = try client(a, TLSClientSettings(caPath: ca))
        defer { anonymous.close() }
        #expect(throws: PeerError.self) { try anonymous.call(command("PING")).wait() }
        let stranger = try client(a, TLSClientSettings(caPath: ca, certificatePath: TestCertificates.path("rogue.pem"),
                                                       privateKeyPath: TestCertificates.path("rogue-key.pem")))
        defer { stranger.close() }
        #expect(throws: PeerError.self) { try stranger.call(command("PING")).wait() }
        let known = try client(a, TLSClientSettings(caPath: ca, certificatePath: TestCertificates.path("client.pem"),
                                                    privateKeyPath: TestCertificates.path("client-key.pem")))
        defer { known.close() }
        #expect(try known.call(command("PING")).wait() == .simpleString("PONG"))

        // Nodes present their own certificate to each other, so they still talk.
        let lb = Loads()
        let b = try makeNode(lb, tls: TestCertificates.node(.all))
        defer { b.stop() }
        try a.setPeers([b.address])
        try b.setPeers([a.address])
        for i in 0..<30 {
            #expect(try a.get(group: "g", key: Array("m\(i)".utf8))?.bytes == Array("v:m\(i)".utf8))
            #expect(try b.get(group: "g", key: Array("m\(i)".utf8))?.bytes == Array("v:m\(i)".utf8))
        }
        #expect(la.value + lb.value == 30 && la.value > 0 && lb.value > 0)
        #expect(try #require(a.view.peers[b.address]).failureCount == 0)
    }

    @Test func badTLSFilesAreClearErrors() throws {
        func error(_ tls: TLSSettings) -> String? {
            do {
                _ = try makeNode(Loads(), tls: tls)
                return nil
            } catch let e as CacheError {
                #expect(e.code == .invalidArgument)
                return e.message
            } catch {
                return "\(error)"
            }
        }
        var missing = TestCertificates.node(.none)
        missing.certificatePath = "/nonexistent/node.pem"
        #expect(error(missing)?.contains("/nonexistent/node.pem") == true)
        var wrongKey = TestCertificates.node(.none)
        wrongKey.privateKeyPath = TestCertificates.path("client-key.pem")
        #expect(error(wrongKey) != nil)
        var notACert = TestCertificates.node(.peers)
        notACert.caPath = TestCertificates.path("ca-key.pem")
        #expect(error(notACert)?.contains("ca-key.pem") == true)
        #expect(throws: CacheError.self) {
            _ = try PeerClient(address: "127.0.0.1:1", options: {
                var o = PeerClient.Options()
                o.tls = TLSClientSettings(certificatePath: TestCertificates.path("client.pem"))
                return o
            }(), eventLoopGroup: NIOSingletons.posixEventLoopGroup)
        }
    }
}
