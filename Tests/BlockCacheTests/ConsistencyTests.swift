import Testing
@testable import BlockCache
@testable import BlockCacheCluster
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loader that blocks until released, so a test can write while a load is running.
final class GatedLoader: Sendable {
    let started = Atomic<Int>(0)
    let released = Atomic<Bool>(false)
    let calls = Atomic<Int>(0)

    func load(_ key: [UInt8]) -> LoadedValue? {
        let n = calls.add(1, ordering: .relaxed).newValue
        started.add(1, ordering: .sequentiallyConsistent)
        while !released.load(ordering: .sequentiallyConsistent) { usleep(1000) }
        return LoadedValue(Array("loaded\(n):".utf8) + key)
    }

    func waitStarted(_ n: Int) {
        for _ in 0..<5000 where started.load(ordering: .sequentiallyConsistent) < n { usleep(1000) }
    }
}

@Suite struct FillsAfterWrites {
    /// Issue 15, case 1: a read-through load that started before a SET stored its
    /// result over the SET.
    @Test func aLoadInFlightDoesNotReplaceANewerSet() throws {
        let gate = GatedLoader()
        let g = try Group(name: "g") { gate.load($0) }
        let reader = Thread { _ = try? g.get("k") }
        gate.waitStarted(1)
        try g.set("k", "NEW")
        #expect(try g.get("k") == Array("NEW".utf8))
        gate.released.store(true, ordering: .sequentiallyConsistent)
        reader.join()
        #expect(try g.get("k") == Array("NEW".utf8), "the load that began before the set replaced it")
    }

    /// A get that begins after a delete does not share the load that began before it.
    @Test func aGetAfterADeleteStartsItsOwnLoad() throws {
        let gate = GatedLoader()
        let g = try Group(name: "g") { gate.load($0) }
        let first = Thread { _ = try? g.get("k") }
        gate.waitStarted(1)
        try g.delete("k")
        let second = Thread { _ = try? g.get("k") }
        gate.waitStarted(2)
        gate.released.store(true, ordering: .sequentiallyConsistent)
        first.join(); second.join()
        #expect(gate.calls.load(ordering: .relaxed) == 2)
        // What is cached is the second load's (begun after the delete), not the first's.
        #expect(try g.get("k") == Array("loaded2:k".utf8))
    }

    @Test func fillsStoreWhenNoWriteIntervened() throws {
        let order = WriteGenerations(stripes: 4)
        let g0 = order.current(bytes("a"))
        #expect(order.fill(bytes("a"), ifStill: g0) { 1 } == 1)
        order.write(bytes("a")) {}
        #expect(order.fill(bytes("a"), ifStill: g0) { 1 } == nil)
        #expect(order.fill(bytes("a"), ifStill: order.current(bytes("a"))) { 1 } == 1)
    }

    @Test func aForgottenFlightIsNotJoined() {
        let flights = SingleFlight<Int, Int>()
        let inside = Atomic<Bool>(false), release = Atomic<Bool>(false)
        let leader = Thread {
            _ = flights.run(1) {
                inside.store(true, ordering: .sequentiallyConsistent)
                while !release.load(ordering: .sequentiallyConsistent) { usleep(500) }
                return 1
            }
        }
        while !inside.load(ordering: .sequentiallyConsistent) { usleep(500) }
        flights.forget(1)
        let (r, shared) = flights.run(1) { 2 }
        #expect(!shared && (try? r.get()) == 2)
        release.store(true, ordering: .sequentiallyConsistent)
        leader.join()
        #expect(flights.isIdle)
    }
}

@Suite struct RingBuilding {
    @Test func bulkAndIncrementalRingsAgree() throws {
        let names = (0..<50).map { "10.0.0.\($0):7001" }
        let bulk = try HashRing(members: names + names)  // a name listed twice is one member
        var incremental = try HashRing()
        for n in names.shuffled() { try incremental.add(n) }
        #expect(bulk == incremental && bulk.nodes.count == 50)
        for i in 0..<2000 { #expect(bulk.node(for: "key\(i)") == incremental.node(for: "key\(i)")) }
        incremental.remove("10.0.0.7:7001")
        try incremental.add("10.0.0.7:7001", weight: 3)
        try incremental.add("10.0.0.7:7001")
        for i in 0..<2000 { #expect(bulk.node(for: "key\(i)") == incremental.node(for: "key\(i)")) }
    }

    @Test func aThousandMembersBuildInOnePass() throws {
        let ring = try HashRing(members: (0..<1000).map { "node-\($0):7001" })
        #expect(ring.nodes.count == 1000)
        #expect(ring.node(for: "x") != nil)
    }
}

@Suite struct SelfIdentity {
    @Test func namesResolveToOneRingName() {
        #expect(MemberNames.canonical("localhost:7001") == "127.0.0.1:7001")
        #expect(MemberNames.canonical("127.0.0.1:7001") == "127.0.0.1:7001")
        #expect(MemberNames.canonical("no-such-host.invalid:7001") == "no-such-host.invalid:7001")
        #expect(MemberNames.selfNames(host: "0.0.0.0", port: 7001).contains("127.0.0.1:7001"))
        #expect(MemberNames.selfNames(host: "localhost", port: 7001) == ["127.0.0.1:7001"])
    }

    /// Issue 15, case 3: a node listed under a second name took itself for another
    /// member and dropped its own writes.
    @Test func aNodeListedUnderAnotherNameIsOneMember() throws {
        let loads = Loads()
        let a = try startTestNode(loads)
        defer { a.stop() }
        let port = a.address.split(separator: ":").last!
        try a.setPeers(["localhost:\(port)", "127.0.0.1:\(port)"])
        #expect(a.members == [a.address])
        for i in 0..<100 { try a.set(group: "g", key: bytes("s\(i)"), value: bytes("v\(i)")) }
        for i in 0..<100 { #expect(try a.get(group: "g", key: bytes("s\(i)"))?.bytes == bytes("v\(i)")) }
        #expect(loads.value == 0)
    }
}

@Suite(.serialized) struct OneFetchPerKey {
    /// Concurrent gets of one key on a node that does not own it make one BC.GET.
    @Test func aStampedeOnANonOwnerMakesOnePeerCall() throws {
        let gate = GatedLoader()
        func node() throws -> Node {
            let g = try Group(name: "g") { gate.load($0) }
            var c = NodeConfiguration()
            c.eventLoopThreads = 2
            c.loaderThreads = 4
            c.peerTimeoutMilliseconds = 5_000
            let n = try Node(configuration: c, groups: [g])
            try n.start()
            return n
        }
        let a = try node(), b = try node()
        defer { a.stop(); b.stop() }
        try a.setPeers([b.address]); try b.setPeers([a.address])
        let key = (0..<1000).lazy.map { bytes("stampede\($0)") }.first { a.view.owner($0) == b.address }!
        let threads = (0..<32).map { _ in Thread { _ = try? a.get(group: "g", key: key) } }
        gate.waitStarted(1)
        usleep(200_000)  // let every get arrive while the load runs
        gate.released.store(true, ordering: .sequentiallyConsistent)
        for t in threads { t.join() }
        let cg = try #require(a.groups["g"])
        #expect(cg.peerGets.load(ordering: .relaxed) == 1)
        #expect(gate.calls.load(ordering: .relaxed) == 1)
    }
}

/// A joinable thread (the tests' callers are threads, as C and Python callers are).
final class Thread: Sendable {
    private let id: pthread_t
    init(_ body: @escaping @Sendable () -> Void) { id = startThread(body)! }
    func join() { pthread_join(id, nil) }
}
