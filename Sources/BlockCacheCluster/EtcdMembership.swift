// Cluster membership through etcd: each node keeps `prefix + address` = address alive under
// a lease, and follows the set of such keys with a watch.
//
// One cycle: obtain a lease (reuse the current one while etcd still knows it, else grant),
// put the node's key with it, range the prefix and publish, watch the prefix from the
// range's revision + 1 and re-range on every change, renew the lease every ttl/3 s. Any
// failure ends the cycle (the watch is closed, timers stop) and a new one starts 1 s later,
// for as long as it takes: a node rejoins by itself when etcd comes back, with its old data
// or with none. While etcd is away the last published members stay as they are.

public import NIOCore

/// Keeps this node registered in etcd and reports the live member set.
///
/// All work runs on `eventLoop`, and `onMembers` and `log` are called there (keep them
/// short); `start()` and `stop()` may be called from any thread.
/// `onMembers` receives the sorted addresses (the values stored under `prefix`), always
/// including `selfAddress`. It is called after the first successful listing and then only
/// when the sorted list changes; it is never called because etcd is unreachable, so the
/// last list stands until etcd answers again. `log` receives one line per state change
/// (registered, lost etcd, lease lost, stopped), not one per retry.
public final class EtcdMembership: @unchecked Sendable {
    private let client: EtcdClient
    private let prefix: String
    private let selfAddress: String
    private let key: String
    private let leaseTTL: Int
    private let loop: any EventLoop
    private let onMembers: @Sendable ([String]) -> Void
    private let log: @Sendable (String) -> Void

    /// How long to wait before starting a new cycle after a failure.
    private let retryDelay = TimeAmount.seconds(1)
    /// How often to re-range while established, in case a watch event was missed.
    private let safetyInterval = TimeAmount.seconds(10)

    // State below is confined to `loop`.
    private var started = false
    private var running = false
    private var stopFuture: EventLoopFuture<Void>?
    /// Bumped whenever a cycle ends; callbacks of older cycles see a different value and do nothing.
    private var generation = 0
    /// The cycle reached its watch (registered, listed, watching).
    private var established = false
    /// nil until the first outcome; then whether the last state change was to healthy.
    private var healthy: Bool?
    private var leaseID: Int64?
    private var members: [String]?
    private var watch: EtcdWatch?
    private var keepAliveTask: Scheduled<Void>?
    private var retryTask: Scheduled<Void>?
    private var safetyTask: RepeatedTask?
    private var rangeInFlight = false
    private var rangeAgain = false

    /// Creates a membership; nothing happens until `start()`.
    ///
    /// - Parameters:
    ///   - client: the etcd client; its request timeout bounds each step, and `stop()`'s revoke.
    ///   - prefix: the key prefix shared by the cluster's nodes, e.g. `"/blockcache/nodes/"`.
    ///   - selfAddress: this node's address, e.g. `"127.0.0.1:7001"`; its key is `prefix + selfAddress`.
    ///   - leaseTTLSeconds: the lease TTL; a node that stops renewing disappears within it.
    ///     The lease is renewed every `max(1, leaseTTLSeconds / 3)` seconds.
    ///   - eventLoop: where the membership's state lives and its callbacks run.
    ///   - onMembers: the sorted member addresses, including `selfAddress`; see the type's notes.
    ///   - log: one line per state change.
    public init(
        client: EtcdClient,
        prefix: String,
        selfAddress: String,
        leaseTTLSeconds: Int,
        eventLoop: any EventLoop,
        onMembers: @escaping @Sendable ([String]) -> Void,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.client = client
        self.prefix = prefix
        self.selfAddress = selfAddress
        self.key = prefix + selfAddress
        self.leaseTTL = max(1, leaseTTLSeconds)
        self.loop = eventLoop
        self.onMembers = onMembers
        self.log = log
    }

    /// Starts registering and following the members in the background; returns at once.
    /// Calling it again, or after `stop()`, does nothing.
    public func start() {
        loop.execute {
            guard !self.started else { return }
            self.started = true
            self.running = true
            self.safetyTask = self.loop.scheduleRepeatedTask(initialDelay: self.safetyInterval, delay: self.safetyInterval) { _ in
                self.safetyTick()
            }
            self.runCycle()
        }
    }

    /// Stops following members, cancels the watch and timers, and revokes the lease (so the
    /// other nodes drop this one at once). Completes successfully in all cases, after at most
    /// the client's request timeout when etcd is down (the key then goes with the lease TTL).
    /// Calling it again returns the same future.
    public func stop() -> EventLoopFuture<Void> {
        loop.flatSubmit {
            if let stopFuture = self.stopFuture { return stopFuture }
            self.started = true
            self.running = false
            self.endCycle()
            self.safetyTask?.cancel()
            self.safetyTask = nil
            let future: EventLoopFuture<Void>
            if let lease = self.leaseID {
                self.leaseID = nil
                future = self.client.revoke(leaseID: lease).hop(to: self.loop).map {
                    self.log("etcd membership: \(self.selfAddress) left (lease \(lease) revoked)")
                }.recover { error in
                    self.log("etcd membership: \(self.selfAddress) stopped; could not revoke lease \(lease), its key expires within \(self.leaseTTL) s: \(error)")
                }
            } else {
                future = self.loop.makeSucceededFuture(())
            }
            self.stopFuture = future
            return future
        }
    }

    // MARK: Cycle

    /// Ends the current cycle (if any) and starts a new one now.
    private func runCycle() {
        guard running else { return }
        endCycle()
        let gen = generation
        obtainLease(gen) { lease in
            self.step(gen, self.client.put(key: self.key, value: self.selfAddress, leaseID: lease), "register \(self.key)") { _ in
                self.step(gen, self.client.range(prefix: self.prefix), "list \(self.prefix)") { listing in
                    self.publish(listing.kvs)
                    self.startWatch(gen, from: listing.revision + 1)
                    self.scheduleKeepAlive(gen)
                    self.established = true
                    if self.healthy != true {
                        self.healthy = true
                        self.log("etcd membership: \(self.selfAddress) registered (lease \(lease), ttl \(self.leaseTTL) s); members \(self.members ?? [])")
                    }
                }
            }
        }
    }

    /// Invalidates the current cycle's callbacks and releases what it holds (not the lease).
    private func endCycle() {
        generation &+= 1
        established = false
        rangeInFlight = false
        rangeAgain = false
        watch?.cancel()
        watch = nil
        keepAliveTask?.cancel()
        keepAliveTask = nil
        retryTask?.cancel()
        retryTask = nil
    }

    /// The current lease if etcd still has it, else a new one.
    private func obtainLease(_ gen: Int, then: @escaping @Sendable (Int64) -> Void) {
        let grant: @Sendable () -> Void = {
            self.step(gen, self.client.grantLease(ttlSeconds: self.leaseTTL), "grant lease") { lease in
                self.leaseID = lease
                then(lease)
            }
        }
        guard let current = leaseID else { return grant() }
        step(gen, client.keepAliveOnce(leaseID: current), "renew lease \(current)") { ttl in
            if ttl > 0 {
                then(current)
            } else {
                self.leaseID = nil
                grant()
            }
        }
    }

    /// Runs `then` with the future's value on the loop if the cycle is still current; fails the
    /// cycle if the future fails.
    private func step<T: Sendable>(_ gen: Int, _ future: EventLoopFuture<T>, _ what: String,
                                   then: @escaping @Sendable (T) -> Void) {
        future.hop(to: loop).whenComplete { result in
            guard self.running, gen == self.generation else { return }
            switch result {
            case .success(let value): then(value)
            case .failure(let error): self.cycleFailed(gen, what, error)
            }
        }
    }

    /// Ends the cycle after a failure, logs on a state change, and retries in 1 s.
    private func cycleFailed(_ gen: Int, _ what: String, _ error: any Error) {
        guard running, gen == generation else { return }
        endCycle()
        if healthy != false {
            healthy = false
            log("etcd membership: \(selfAddress): \(what) failed: \(error); keeping members \(members ?? [selfAddress]), retrying every \(retryDelay.nanoseconds / 1_000_000_000) s")
        }
        retryTask = loop.scheduleTask(in: retryDelay) { self.runCycle() }
    }

    private func startWatch(_ gen: Int, from revision: Int64) {
        watch = client.watch(
            prefix: prefix,
            startRevision: revision,
            onChange: {
                self.loop.execute { self.refresh(gen) }
            },
            onEnd: { error in
                self.loop.execute {
                    guard gen == self.generation else { return }  // our own cancel, or an old cycle
                    self.cycleFailed(gen, "watch \(self.prefix)", error ?? EtcdError(
                        .streamEnded, endpoint: "?", path: "/v3/watch", detail: "watch ended"))
                }
            }
        )
    }

    private func scheduleKeepAlive(_ gen: Int) {
        let interval = TimeAmount.seconds(Int64(max(1, leaseTTL / 3)))
        keepAliveTask = loop.scheduleTask(in: interval) { self.keepAlive(gen) }
    }

    private func keepAlive(_ gen: Int) {
        guard running, gen == generation, let lease = leaseID else { return }
        step(gen, client.keepAliveOnce(leaseID: lease), "renew lease \(lease)") { ttl in
            if ttl > 0 {
                self.scheduleKeepAlive(gen)
            } else {
                // etcd forgot the lease (expired while we could not reach it, or a new data dir).
                self.log("etcd membership: \(self.selfAddress): lease \(lease) is gone; registering again")
                self.leaseID = nil
                self.runCycle()
            }
        }
    }

    private func safetyTick() {
        guard running, established else { return }
        refresh(generation)
    }

    /// Re-ranges the prefix and publishes; coalesces requests while one is in flight, so
    /// listings are applied in order.
    private func refresh(_ gen: Int) {
        guard running, gen == generation else { return }
        if rangeInFlight {
            rangeAgain = true
            return
        }
        rangeInFlight = true
        step(gen, client.range(prefix: prefix), "list \(prefix)") { listing in
            self.rangeInFlight = false
            self.publish(listing.kvs)
            guard listing.kvs.contains(where: { $0.key == self.key }) else {
                // Our key went (lease revoked or expired, or the key deleted): put it back now
                // rather than at the next keep-alive (which would not notice a deleted key).
                self.log("etcd membership: \(self.selfAddress): own key \(self.key) is gone; registering again")
                return self.runCycle()
            }
            if self.rangeAgain {
                self.rangeAgain = false
                self.refresh(gen)
            }
        }
    }

    /// Calls `onMembers` with the sorted values plus self, if that differs from the last call.
    private func publish(_ kvs: [(key: String, value: String)]) {
        var addresses = Set(kvs.map(\.value).filter { !$0.isEmpty })
        addresses.insert(selfAddress)
        let sorted = addresses.sorted()
        guard sorted != members else { return }
        members = sorted
        onMembers(sorted)
    }
}
