import BlockCache
import NIOCore

extension Node {
    /// The `INFO` text: `# Section` headers and `field:value` lines, as Redis writes
    /// them. Sections: server, clients, stats, cluster, groups (`default` and `all`
    /// give every section).
    public func info(section: String = "default") -> String {
        let all = section == "default" || section == "all" || section == "everything"
        var lines: [String] = []
        func add(_ name: String, _ body: () -> [String]) {
            guard all || section == name else { return }
            if !lines.isEmpty { lines.append("") }
            lines.append("# \(name.prefix(1).uppercased() + name.dropFirst())")
            lines.append(contentsOf: body())
        }
        add("server") {
            [
                "redis_version:7.0.0",
                "blockcache_version:\(Node.version)",
                "redis_mode:cluster",
                "process_id:\(getpidValue())",
                "tcp_port:\(address.split(separator: ":").last ?? "")",
                "uptime_in_seconds:\((NIODeadline.now() - startedAt).nanoseconds / 1_000_000_000)",
            ]
        }
        add("clients") { ["connected_clients:\(connectionCount)"] }
        add("stats") {
            [
                "total_connections_received:\(connectionsAccepted.load(ordering: .relaxed))",
                "total_commands_processed:\(commandsProcessed.load(ordering: .relaxed))",
                "protocol_errors:\(protocolErrors.load(ordering: .relaxed))",
                "cross_protocol_closed:\(crossProtocolClosed.load(ordering: .relaxed))",
            ]
        }
        add("cluster") {
            let v = view
            var l = ["cluster_self:\(v.selfAddress)", "cluster_size:\(v.members.count)",
                     "cluster_members:\(v.members.joined(separator: ","))",
                     "cluster_hot_tier:\(hotTierUsable.load(ordering: .relaxed) ? "on" : "off")",
                     "cluster_out_of_contact:\(membersOutOfContact.joined(separator: ","))"]
            for (address, peer) in v.peers.sorted(by: { $0.key < $1.key }) {
                l.append("peer_\(address):breaker=\(peer.isBreakerOpen ? "open" : "closed"),failures=\(peer.failureCount)")
            }
            return l
        }
        add("groups") {
            var l: [String] = []
            for name in groupNames() {
                guard let cg = groups[name] else { continue }
                let s = cg.group.stats()
                let h = cg.hot.store.stats()
                let p = "group_\(name)_"
                l += [
                    "\(p)gets:\(s.gets)", "\(p)hits:\(s.hits)", "\(p)misses:\(s.misses)",
                    "\(p)loads:\(s.loads)", "\(p)loads_deduplicated:\(s.loadsDeduplicated)",
                    "\(p)loader_errors:\(s.loaderErrors)", "\(p)loader_not_found:\(s.loaderNotFound)",
                    "\(p)entries:\(s.store.entries)", "\(p)bytes:\(s.store.bytes)",
                    "\(p)owner_hits:\(cg.ownerHits.load(ordering: .relaxed))",
                    "\(p)served_to_peers:\(cg.servedToPeers.load(ordering: .relaxed))",
                    "\(p)peer_gets:\(cg.peerGets.load(ordering: .relaxed))",
                    "\(p)peer_failures:\(cg.peerFailures.load(ordering: .relaxed))",
                    "\(p)fallback_loads:\(cg.fallbackLoads.load(ordering: .relaxed))",
                    "\(p)flights_joined:\(cg.flightsJoined.load(ordering: .relaxed))",
                    "\(p)hot_hits:\(cg.hotHits.load(ordering: .relaxed))",
                    "\(p)hot_admits:\(cg.hotAdmits.load(ordering: .relaxed))",
                    "\(p)hot_entries:\(h.entries)", "\(p)hot_bytes:\(h.bytes)",
                ]
            }
            return l
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

private func getpidValue() -> Int32 { getpid() }
