import Testing
@testable import BlockCache
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

@Suite struct Hashing {
    @Test func referenceVectors() {
        // wyhash final 4.3's own test vectors (input i hashed with seed i).
        let vectors: [(String, UInt64)] = [
            ("", 0x93228a4de0eec5a2), ("a", 0xc5bac3db178713c4), ("abc", 0xa97f2f7b1d9b3314),
            ("message digest", 0x786d1f1df3801df4), ("abcdefghijklmnopqrstuvwxyz", 0xdca5a8138ad37c87),
        ]
        for (i, (input, want)) in vectors.enumerated() {
            let got = Array(input.utf8).withUnsafeBytes { StableHash.hash64($0, seed: UInt64(i)) }
            #expect(got == want, "wyhash(\"\(input)\", \(i))")
        }
    }

    @Test func referenceVectorsAcrossLengths() {
        // wyhash final 4.3 on data[i] = i % 256, seed 0: every length path, including
        // exact multiples of 48 (the 48-byte loop runs while at least 48 bytes remain).
        let data = (0..<1024).map { UInt8($0 % 256) }
        let vectors: [(Int, UInt64)] = [
            (0, 0x93228a4de0eec5a2), (3, 0x78c4aa0c972a522d), (16, 0x305fdea0ed4a2619),
            (17, 0xd29ffdd201a46f9a), (47, 0xe2cb58f6ab8e4419), (48, 0xecbfb7ff9e3d9a97),
            (49, 0x0691f11bac523a91), (96, 0x948137d69794b570), (97, 0x2501575738d109be),
            (1024, 0x804dd1e6f38e5361),
        ]
        for (n, want) in vectors {
            #expect(StableHash.hash64(Array(data[0..<n])) == want, "length \(n)")
        }
    }

    @Test func stableValues() {
        // Pinned: these must never change (rings in other processes depend on them).
        #expect(StableHash.hash64("") == 0x93228a4de0eec5a2)
        #expect(StableHash.hash64("hello") == 0x49a593f92a7c549f)
        #expect(StableHash.hash64("hello") != StableHash.hash64("hellp"))
    }

    @Test func everyLengthPathAgreesWithItself() {
        // Lengths cover the 0, 1-3, 4-16, 17-48 and >48 byte paths.
        var seen = Set<UInt64>()
        for n in 0..<200 {
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let h = StableHash.hash64(data)
            #expect(h == StableHash.hash64(data))
            seen.insert(h)
        }
        #expect(seen.count == 200)
    }

    @Test func lowBitsSpreadEvenly() {
        var buckets = [Int](repeating: 0, count: 16)
        for i in 0..<16_000 { buckets[Int(StableHash.hash64("key\(i)") & 15)] += 1 }
        #expect(buckets.allSatisfy { $0 > 800 && $0 < 1200 })
    }
}

@Suite struct Ring {
    @Test func emptyRingOwnsNothing() throws {
        let r = try HashRing()
        #expect(r.node(for: "k") == nil)
        #expect(r.isEmpty)
    }

    @Test func deterministicAndEven() throws {
        var a = try HashRing(), b = try HashRing()
        for n in ["n1", "n2", "n3"] { try a.add(n) }
        for n in ["n3", "n1", "n2"] { try b.add(n) }  // insertion order does not matter
        var counts: [String: Int] = [:]
        for i in 0..<30_000 {
            let owner = a.node(for: "key\(i)")!
            #expect(owner == b.node(for: "key\(i)"))
            counts[owner, default: 0] += 1
        }
        for (_, c) in counts { #expect(c > 7_000 && c < 13_000) }
    }

    @Test func weightsAndRemoval() throws {
        var r = try HashRing()
        try r.add("a"); try r.add("b"); try r.add("heavy", weight: 3)
        var before: [String: String] = [:]
        var heavy = 0
        for i in 0..<20_000 {
            let o = r.node(for: "k\(i)")!
            before["k\(i)"] = o
            if o == "heavy" { heavy += 1 }
        }
        #expect(heavy > 20_000 * 45 / 100)  // 3 of 5 shares = 60%
        let removed = r.remove("a"), removedAgain = r.remove("a")
        #expect(removed && !removedAgain)
        for (k, o) in before {
            let now = r.node(for: k)!
            if o != "a" { #expect(now == o) } else { #expect(now != "a") }
        }
    }

    @Test func badArguments() {
        #expect(throws: CacheError.self) { try HashRing(virtualNodes: 0) }
        #expect(throws: CacheError.self) { var r = try HashRing(); try r.add("") }
        #expect(throws: CacheError.self) { var r = try HashRing(); try r.add("x", weight: 0) }
    }
}

@Suite struct SingleFlightTests {
    @Test func concurrentCallersShareOneExecution() {
        let flight = SingleFlight<String, Int>()
        let runs = Atomic<Int>(0), shared = Atomic<Int>(0), sum = Atomic<Int>(0)
        onThreads(8) { _ in
            let (result, wasShared) = flight.run("k") {
                runs.add(1, ordering: .relaxed)
                sleepMilliseconds(150)
                return 42
            }
            if wasShared { shared.add(1, ordering: .relaxed) }
            if case .success(let v) = result { sum.add(v, ordering: .relaxed) }
        }
        #expect(runs.load(ordering: .relaxed) == 1)
        #expect(shared.load(ordering: .relaxed) == 7)
        #expect(sum.load(ordering: .relaxed) == 8 * 42)
        #expect(flight.inFlight == 0)
    }

    @Test func errorsAreSharedToo() {
        struct Boom: Error {}
        let flight = SingleFlight<Int, Int>()
        let failures = Atomic<Int>(0)
        onThreads(4) { _ in
            let (result, _) = flight.run(1) { sleepMilliseconds(100); throw Boom() }
            if case .failure(let e) = result, e is Boom { failures.add(1, ordering: .relaxed) }
        }
        #expect(failures.load(ordering: .relaxed) == 4)
    }

    @Test func reentrantCallFailsInsteadOfDeadlocking() {
        let flight = SingleFlight<Int, Int>()
        let (outer, _) = flight.run(1) {
            let (inner, _) = flight.run(1) { 2 }
            return try inner.get()
        }
        guard case .failure(let e as CacheError) = outer else {
            Issue.record("expected a misuse error")
            return
        }
        #expect(e.code == .misuse)
    }

    @Test func differentKeysRunIndependently() {
        let flight = SingleFlight<Int, Int>()
        let runs = Atomic<Int>(0)
        onThreads(4) { i in _ = flight.run(i) { runs.add(1, ordering: .relaxed); sleepMilliseconds(50); return i } }
        #expect(runs.load(ordering: .relaxed) == 4)
    }
}

@Suite struct GroupTests {
    @Test func loadsOnceThenHits() throws {
        let loads = Atomic<Int>(0)
        let g = try Group(name: "users", configuration: StoreConfiguration(maxEntries: 100)) { key in
            loads.add(1, ordering: .relaxed)
            return LoadedValue(Array("v:".utf8) + key)
        }
        #expect(try g.get("a") == bytes("v:a"))
        #expect(try g.get("a") == bytes("v:a"))
        #expect(loads.load(ordering: .relaxed) == 1)
        let st = g.stats()
        #expect(st.gets == 2 && st.hits == 1 && st.misses == 1 && st.loads == 1)
    }

    @Test func notFoundAndErrors() throws {
        struct DatabaseDown: Error, CustomStringConvertible { var description: String { "db down" } }
        let g = try Group(name: "g") { key in
            if key == bytes("missing") { return nil }
            throw DatabaseDown()
        }
        do { _ = try g.get("missing"); Issue.record("expected notFound") } catch { #expect(error.code == .notFound) }
        do { _ = try g.get("other"); Issue.record("expected loaderFailed") } catch {
            #expect(error.code == .loaderFailed)
            #expect(error.message.contains("db down"))
        }
        _ = try? g.get("missing")  // not cached: loads again
        let st = g.stats()
        #expect(st.loaderNotFound == 2 && st.loaderErrors == 1 && st.loads == 3)
    }

    @Test func loaderTTLIsHonoured() throws {
        let loads = Atomic<Int>(0)
        let g = try Group(name: "g", configuration: StoreConfiguration(sweepIntervalMilliseconds: -1)) { _ in
            loads.add(1, ordering: .relaxed)
            return LoadedValue(bytes("v"), ttl: .milliseconds(30))
        }
        _ = try g.get("k")
        _ = try g.get("k")
        sleepMilliseconds(80)
        _ = try g.get("k")
        #expect(loads.load(ordering: .relaxed) == 2)
    }

    @Test func stampedeCausesOneLoad() throws {
        let loads = Atomic<Int>(0)
        let g = try Group(name: "g") { _ in
            loads.add(1, ordering: .relaxed)
            sleepMilliseconds(150)
            return LoadedValue(bytes("value"))
        }
        let ok = Atomic<Int>(0)
        onThreads(8) { _ in if (try? g.get("hot")) == bytes("value") { ok.add(1, ordering: .relaxed) } }
        #expect(loads.load(ordering: .relaxed) == 1)
        #expect(ok.load(ordering: .relaxed) == 8)
        #expect(g.stats().loadsDeduplicated == 7)
    }

    @Test func tooLargeToCacheIsStillReturned() throws {
        let loads = Atomic<Int>(0)
        let g = try Group(name: "g", configuration: StoreConfiguration(maxBytes: 1024, shards: 1)) { _ in
            loads.add(1, ordering: .relaxed)
            return LoadedValue([UInt8](repeating: 1, count: 4096))
        }
        #expect(try g.get("k").count == 4096)
        #expect(try g.get("k").count == 4096)
        #expect(loads.load(ordering: .relaxed) == 2)
        #expect(g.stats().store.entries == 0)
    }

    @Test func emptyNameIsRejected() {
        #expect(throws: CacheError.self) { try Group(name: "") { _ in nil } }
    }

    @Test func allocatorIsReported() {
        // The Makefile links the private jemalloc into the tests.
        #expect(Allocator.name.hasPrefix("jemalloc"))
        #expect(Allocator.isJemalloc)
    }
}
