/// An intrusive doubly linked list of entries, most recently used at the head.
/// The links live in the entries' headers; the list owns nothing.
struct EntryList {
    private(set) var headBits: UInt = 0
    private(set) var tailBits: UInt = 0
    /// Entries on the list.
    private(set) var count = 0
    /// Bytes charged for the entries on the list.
    private(set) var bytes = 0

    @inline(__always) var head: Entry? { Entry(bits: headBits) }
    @inline(__always) var tail: Entry? { Entry(bits: tailBits) }

    /// Links `e` at the head (most recent).
    /// - Complexity: O(1)
    @inline(__always)
    mutating func pushHead(_ e: Entry, charge: Int) {
        e.prevBits = 0
        e.nextBits = headBits
        if let h = head { h.prevBits = e.bits } else { tailBits = e.bits }
        headBits = e.bits
        count += 1
        bytes += charge
    }

    /// Unlinks `e`, which must be on this list.
    /// - Complexity: O(1)
    @inline(__always)
    mutating func remove(_ e: Entry, charge: Int) {
        let p = e.prevBits, n = e.nextBits
        if let prev = Entry(bits: p) { prev.nextBits = n } else { headBits = n }
        if let next = Entry(bits: n) { next.prevBits = p } else { tailBits = p }
        e.prevBits = 0
        e.nextBits = 0
        count -= 1
        bytes -= charge
    }

    /// Moves `e`, already on this list, to the head.
    /// - Complexity: O(1)
    @inline(__always)
    mutating func moveToHead(_ e: Entry) {
        guard headBits != e.bits else { return }
        // e has a predecessor, since it is not the head.
        let p = e.prevBits, n = e.nextBits
        Entry(bits: p)!.nextBits = n
        if let next = Entry(bits: n) { next.prevBits = p } else { tailBits = p }
        e.prevBits = 0
        e.nextBits = headBits
        head!.prevBits = e.bits
        headBits = e.bits
    }

    mutating func reset() {
        self = EntryList()
    }

    /// Calls `body` for each entry from head to tail; `body` may free the entry.
    func forEach(_ body: (Entry) -> Void) {
        var cursor = head
        while let e = cursor {
            cursor = e.next
            body(e)
        }
    }
}
