public import BlockCache
import NIOCore
import NIOSSL

/// TLS of a node: the certificate it serves (and presents to the other nodes as a
/// client), the roots it trusts, and which connections must present a certificate.
///
/// With TLS on, every connection to the node is TLS (1.2 or later); a plaintext
/// client fails the handshake and is disconnected. Nodes connect to each other with
/// TLS too, presenting their own certificate and checking the other node's against
/// ``caPath`` and (``verifyHostnames``) against the host they dialled.
public struct TLSSettings: Sendable, Equatable {
    /// Who must present a client certificate that chains to ``TLSSettings/caPath``.
    public enum ClientCertificates: String, Sendable, CaseIterable {
        /// Nobody: clients and nodes alike are authenticated by the password only.
        case none
        /// Only peers: anyone may connect, but the peer-only commands (`BC.DROP`,
        /// `BC.SETPEERS` and the `PEER` form of `BC.GET/SET/DEL`) are refused on a
        /// connection that did not present a valid certificate (mTLS between nodes).
        case peers
        /// Everybody: a connection without a valid certificate fails the handshake.
        case all
    }

    /// PEM file with the node's certificate chain, leaf first.
    public var certificatePath: String
    /// PEM file with the private key of the leaf certificate.
    public var privateKeyPath: String
    /// PEM file of the roots that other nodes' (and clients') certificates must chain
    /// to; nil = the system's roots.
    public var caPath: String?
    public var clientCertificates: ClientCertificates = .none
    /// Whether a node checks that another node's certificate names the host it dialled
    /// (its DNS name, or its IP address as an IP SAN).
    public var verifyHostnames: Bool = true

    public init(certificatePath: String, privateKeyPath: String, caPath: String? = nil,
                clientCertificates: ClientCertificates = .none, verifyHostnames: Bool = true) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.caPath = caPath
        self.clientCertificates = clientCertificates
        self.verifyHostnames = verifyHostnames
    }

    /// The client side a node uses to reach its peers.
    var peerClientSettings: TLSClientSettings {
        TLSClientSettings(caPath: caPath, certificatePath: certificatePath, privateKeyPath: privateKeyPath,
                          verifyHostnames: verifyHostnames)
    }

    /// The server context; loads and checks the files.
    func makeServerContext() throws(CacheError) -> NIOSSLContext {
        let chain = try loadCertificates(certificatePath)
        let key = try loadPrivateKey(privateKeyPath)
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                         privateKey: .privateKey(key))
        c.minimumTLSVersion = .tlsv12
        switch clientCertificates {
        case .none:
            c.certificateVerification = .none
        case .peers:
            c.certificateVerification = .optionalVerification
            c.trustRoots = try trustRoots(caPath)
        case .all:
            c.certificateVerification = .noHostnameVerification
            c.trustRoots = try trustRoots(caPath)
        }
        return try makeSSLContext(c)
    }
}

/// TLS of a client of a node (``PeerClient``): the roots it trusts, an optional
/// client certificate, and the name it expects the node's certificate to carry.
public struct TLSClientSettings: Sendable, Equatable {
    /// PEM file of the roots the node's certificate must chain to; nil = the system's roots.
    public var caPath: String?
    /// PEM client certificate chain (leaf first) and its key, for a node that asks for
    /// one (mTLS); nil = present none.
    public var certificatePath: String?
    public var privateKeyPath: String?
    /// The name to check the node's certificate against and send as SNI; nil = the
    /// host of the address (an IP address is checked against the certificate's IP SANs).
    public var serverName: String?
    /// Whether the node's certificate must name the host; false still checks the chain.
    public var verifyHostnames: Bool = true

    public init(caPath: String? = nil, certificatePath: String? = nil, privateKeyPath: String? = nil,
                serverName: String? = nil, verifyHostnames: Bool = true) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.serverName = serverName
        self.verifyHostnames = verifyHostnames
    }

    /// The client context; loads and checks the files.
    func makeContext() throws(CacheError) -> NIOSSLContext {
        var c = TLSConfiguration.makeClientConfiguration()
        c.minimumTLSVersion = .tlsv12
        c.trustRoots = try trustRoots(caPath)
        c.certificateVerification = verifyHostnames ? .fullVerification : .noHostnameVerification
        switch (certificatePath, privateKeyPath) {
        case (nil, nil):
            break
        case (let cert?, let key?):
            c.certificateChain = try loadCertificates(cert).map { .certificate($0) }
            c.privateKey = .privateKey(try loadPrivateKey(key))
        default:
            throw CacheError(.invalidArgument, "TLS: a client certificate file and its key file go together")
        }
        return try makeSSLContext(c)
    }

    /// The SNI name for a connection to host: none for an IP address (which TLS does
    /// not allow there; the certificate is then checked against the IP).
    func sniName(forHost host: String) -> String? {
        if let serverName { return serverName }
        if host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) { return nil }
        return host
    }
}

private func loadCertificates(_ path: String) throws(CacheError) -> [NIOSSLCertificate] {
    let chain: [NIOSSLCertificate]
    do {
        chain = try NIOSSLCertificate.fromPEMFile(path)
    } catch {
        throw CacheError(.invalidArgument, "TLS: cannot read the PEM certificates in '\(path)': \(error)")
    }
    guard !chain.isEmpty else { throw CacheError(.invalidArgument, "TLS: no certificate in '\(path)'") }
    return chain
}

private func loadPrivateKey(_ path: String) throws(CacheError) -> NIOSSLPrivateKey {
    do {
        return try NIOSSLPrivateKey(file: path, format: .pem)
    } catch {
        throw CacheError(.invalidArgument, "TLS: cannot read the PEM private key in '\(path)': \(error)")
    }
}

private func trustRoots(_ caPath: String?) throws(CacheError) -> NIOSSLTrustRoots {
    guard let caPath else { return .default }
    return .certificates(try loadCertificates(caPath))
}

private func makeSSLContext(_ c: TLSConfiguration) throws(CacheError) -> NIOSSLContext {
    do {
        return try NIOSSLContext(configuration: c)
    } catch {
        // A key that does not match its certificate ends up here.
        throw CacheError(.invalidArgument, "TLS: cannot set up the context: \(error)")
    }
}
