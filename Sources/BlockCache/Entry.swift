/// One cached entry: a single allocation holding a small header, an optional expiry,
/// the key and the value.
///
///     offset  size  field
///          0     8  prev   (pointer bits; the policy list this entry is on)
///          8     8  next
///         16     2  key length (keys are at most 65,535 bytes)
///         18     1  flags: bit 0 hasExpiry, bits 1-2 which policy list holds the
///                   entry, bits 3-7 the sketch epoch (W-TinyLFU: the key's counters
///                   are saturated in this epoch of the shard's sketch, 1-31; 0: not
///                   known to be)
///         19     1  last access time (W-TinyLFU: the shard's clock in ticks, mod 256)
///         20     4  value length
///         24    [8] expiry deadline, monotonic ms (only when hasExpiry)
///      24/32     *  key bytes, then value bytes
///
/// 24 header bytes on purpose: an 8-byte key and a 64-byte value make a 96-byte
/// block, exactly a jemalloc size class, so the header costs nothing that rounding
/// would not already cost. The hash is not stored; the index keeps a 16-bit tag of it
/// and recomputes the full hash only when entries move (resize, deletion).
@usableFromInline
struct Entry: Equatable {
    let raw: UnsafeMutableRawPointer

    static let headerSize = 24
    static let expirySize = 8
    static let maxKeyLength = 65_535
    static let maxValueLength = 1 << 30

    static let flagHasExpiry: UInt8 = 1 << 0
    static let flagProtected: UInt8 = 1 << 1
    static let flagWindow: UInt8 = 1 << 2
    /// The sketch epoch's place in `flags` (bits 3-7).
    static let epochShift: UInt8 = 3

    @inline(__always) init(_ raw: UnsafeMutableRawPointer) { self.raw = raw }

    @inline(__always) init?(bits: UInt) {
        guard let p = UnsafeMutableRawPointer(bitPattern: bits) else { return nil }
        raw = p
    }

    /// Bytes needed for an entry with these lengths.
    @inline(__always)
    static func blockSize(keyLength: Int, valueLength: Int, hasExpiry: Bool) -> Int {
        headerSize + (hasExpiry ? expirySize : 0) + keyLength + valueLength
    }

    /// Allocates and fills an entry; nil when out of memory.
    static func make(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiry: Int64) -> Entry? {
        let hasExpiry = expiry != 0
        let size = blockSize(keyLength: key.count, valueLength: value.count, hasExpiry: hasExpiry)
        guard let p = Allocator.allocate(size) else { return nil }
        let e = Entry(p)
        e.prevBits = 0
        e.nextBits = 0
        p.storeBytes(of: UInt16(key.count), toByteOffset: 16, as: UInt16.self)
        p.storeBytes(of: hasExpiry ? flagHasExpiry : 0, toByteOffset: 18, as: UInt8.self)
        p.storeBytes(of: 0, toByteOffset: 19, as: UInt8.self)
        p.storeBytes(of: UInt32(value.count), toByteOffset: 20, as: UInt32.self)
        if hasExpiry { p.storeBytes(of: expiry, toByteOffset: headerSize, as: Int64.self) }
        let keyStart = e.keyOffset
        if let k = key.baseAddress, key.count > 0 {
            (p + keyStart).copyMemory(from: k, byteCount: key.count)
        }
        if let v = value.baseAddress, value.count > 0 {
            (p + keyStart + key.count).copyMemory(from: v, byteCount: value.count)
        }
        return e
    }

    /// Frees the block.
    @inline(__always) func deallocate() { Allocator.free(raw, size: blockSize) }

    @inline(__always) var bits: UInt { UInt(bitPattern: raw) }

    @inline(__always) var prevBits: UInt {
        get { raw.load(as: UInt.self) }
        nonmutating set { raw.storeBytes(of: newValue, as: UInt.self) }
    }
    @inline(__always) var nextBits: UInt {
        get { raw.load(fromByteOffset: 8, as: UInt.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: 8, as: UInt.self) }
    }
    @inline(__always) var prev: Entry? { Entry(bits: prevBits) }
    @inline(__always) var next: Entry? { Entry(bits: nextBits) }

    @inline(__always) var keyLength: Int { Int(raw.load(fromByteOffset: 16, as: UInt16.self)) }
    @inline(__always) var valueLength: Int { Int(raw.load(fromByteOffset: 20, as: UInt32.self)) }
    @inline(__always) var flags: UInt8 {
        get { raw.load(fromByteOffset: 18, as: UInt8.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: 18, as: UInt8.self) }
    }
    /// The ``FrequencySketch/epoch`` (1-31) in which W-TinyLFU found this key's counters
    /// all saturated (so counting another access would change nothing); 0 when it has not.
    @inline(__always) var sketchEpoch: UInt8 {
        get { flags >> Entry.epochShift }
        nonmutating set {
            assert(newValue <= FrequencySketch.epochs, "a sketch epoch has 5 bits")
            flags = (flags & ((1 << Entry.epochShift) - 1)) | (newValue << Entry.epochShift)
        }
    }
    /// When W-TinyLFU last saw this entry accessed: its shard's clock, in ticks, mod 256
    /// (``WindowTinyLFU``, rule 1).
    @inline(__always) var accessTime: UInt8 {
        get { raw.load(fromByteOffset: 19, as: UInt8.self) }
        nonmutating set { raw.storeBytes(of: newValue, toByteOffset: 19, as: UInt8.self) }
    }
    @inline(__always) var hasExpiry: Bool { flags & Entry.flagHasExpiry != 0 }
    /// Which policy list the entry is on.
    @inline(__always) var list: PolicyLists.List {
        get {
            let f = flags
            return f & Entry.flagProtected != 0 ? .protected : f & Entry.flagWindow != 0 ? .window : .probation
        }
        nonmutating set {
            var f = flags & ~(Entry.flagProtected | Entry.flagWindow)
            if newValue == .protected { f |= Entry.flagProtected }
            if newValue == .window { f |= Entry.flagWindow }
            flags = f
        }
    }
    /// Deadline in monotonic ms, 0 when the entry never expires.
    @inline(__always) var expiry: Int64 {
        hasExpiry ? raw.load(fromByteOffset: Entry.headerSize, as: Int64.self) : 0
    }

    /// Replaces the value (and deadline) in place. The caller has checked that the
    /// new block size has the same allocator size class and the same expiry layout.
    @inline(__always)
    func overwrite(value: UnsafeRawBufferPointer, expiry: Int64) {
        raw.storeBytes(of: UInt32(value.count), toByteOffset: 20, as: UInt32.self)
        if hasExpiry { raw.storeBytes(of: expiry, toByteOffset: Entry.headerSize, as: Int64.self) }
        if let v = value.baseAddress, value.count > 0 {
            (raw + keyOffset + keyLength).copyMemory(from: v, byteCount: value.count)
        }
    }

    @inline(__always) var keyOffset: Int { Entry.headerSize + (hasExpiry ? Entry.expirySize : 0) }
    @inline(__always) var blockSize: Int { keyOffset + keyLength + valueLength }

    @inline(__always) var key: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: raw + keyOffset, count: keyLength)
    }
    @inline(__always) var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: raw + keyOffset + keyLength, count: valueLength)
    }

    @inline(__always) func keyEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        let n = keyLength
        guard n == other.count else { return false }
        guard n > 0, let o = other.baseAddress else { return true }
        let k = UnsafeRawPointer(raw + keyOffset)
        if n == 8 {  // the common fixed-size key: one compare, no call
            return k.loadUnaligned(as: UInt64.self) == o.loadUnaligned(as: UInt64.self)
        }
        return memcmp(k, o, n) == 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
