#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The names members go by on the ring. Every node must put the same name on its ring
/// for the same member, and must know its own name under every spelling a peer list
/// may use for it (`localhost:7001`, `127.0.0.1:7001`, a hostname, a wildcard listen
/// address), or it takes itself for a second member and drops its own writes. So a
/// member's ring name is its resolved address: `ip:port` of the host's smallest IPv4
/// address (else its smallest IPv6 one, as `[ip]:port`). Names are resolved once per
/// membership change, never per request; a name that does not resolve stays as it is.
enum MemberNames {
    /// The ring name of `address` (`host:port`); `address` itself if it does not resolve.
    static func canonical(_ address: String) -> String {
        guard let (host, port) = splitHostPort(address) else { return address }
        guard let ip = resolve(host) else { return address }
        return join(ip, port)
    }

    /// `ip:port`, with brackets around an IPv6 address.
    static func join(_ ip: String, _ port: Int) -> String {
        ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    static func isWildcard(_ host: String) -> Bool {
        host.isEmpty || host == "0.0.0.0" || host == "::" || host == "[::]"
    }

    /// The ring names a node listening on `host:port` answers to: the resolved listen
    /// address, or for a wildcard host, every address of the machine's interfaces.
    static func selfNames(host: String, port: Int) -> Set<String> {
        var names: Set<String> = []
        if isWildcard(host) {
            for ip in localAddresses() where host != "0.0.0.0" || !ip.contains(":") {
                names.insert(join(ip, port))
            }
            names.insert(join("127.0.0.1", port))
        } else {
            names.insert(canonical(join(host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port)))
        }
        return names
    }

    /// The smallest IPv4 address `host` resolves to, else its smallest IPv6 one.
    static func resolve(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var v4: [String] = [], v6: [String] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let a = p {
            if let sa = a.pointee.ai_addr, let text = numeric(sa) {
                if a.pointee.ai_family == AF_INET { v4.append(text) } else { v6.append(text) }
            }
            p = a.pointee.ai_next
        }
        return v4.min(by: ipv4Less) ?? v6.min()
    }

    /// The addresses of this machine's network interfaces, as text.
    static func localAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(first) }
        var out: [String] = []
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let a = p {
            if let sa = a.pointee.ifa_addr, let text = numeric(sa) { out.append(text) }
            p = a.pointee.ifa_next
        }
        return out
    }

    private static func numeric(_ sa: UnsafeMutablePointer<sockaddr>) -> String? {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                return inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count)).map { _ in String(cString: buf) }
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var addr = sin6.pointee.sin6_addr
                return inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count)).map { _ in String(cString: buf) }
            }
        default:
            return nil
        }
    }

    private static func ipv4Less(_ a: String, _ b: String) -> Bool {
        func parts(_ s: String) -> [Int] { s.split(separator: ".").map { Int($0) ?? 0 } }
        return parts(a).lexicographicallyPrecedes(parts(b))
    }
}
