public import CBlockCacheABI
import BlockCache

typealias StoreRef = Unmanaged<Store>

@inline(__always)
func storeRef(_ s: OpaquePointer) -> StoreRef { StoreRef.fromOpaque(UnsafeRawPointer(s)) }

/// The engine configuration described by a bc_store_options (NULL = defaults).
func configuration(_ o: UnsafePointer<bc_store_options>?) throws(CacheError) -> StoreConfiguration {
    var c = StoreConfiguration()
    guard let o else { return c }
    let opts = o.pointee
    guard opts.struct_size >= UInt32(MemoryLayout<bc_store_options>.size) else {
        throw CacheError(.invalidArgument, "options struct_size is \(opts.struct_size), expected at least \(MemoryLayout<bc_store_options>.size); fill the struct with bc_store_options_init first")
    }
    if let p = opts.policy {
        let name = string(p)
        guard let policy = EvictionPolicy(name: name) else {
            let known = EvictionPolicy.allCases.map(\.rawValue).joined(separator: ", ")
            throw CacheError(.invalidArgument, "unknown policy '\(name)' (known: \(known))")
        }
        c.policy = policy
    }
    c.maxBytes = opts.max_bytes
    c.maxEntries = opts.max_entries
    c.shards = Int(opts.shards)
    c.defaultTTLMilliseconds = opts.default_ttl_ms
    c.sweepIntervalMilliseconds = opts.sweep_interval_ms
    return c
}

func fillDefaults(_ o: UnsafeMutablePointer<bc_store_options>) {
    o.pointee = bc_store_options()
    o.pointee.struct_size = UInt32(MemoryLayout<bc_store_options>.size)
}

func cStats(_ s: StoreStats) -> bc_store_stats {
    var out = bc_store_stats()
    out.hits = s.hits
    out.misses = s.misses
    out.sets = s.sets
    out.deletes = s.deletes
    out.evictions = s.evictions
    out.expirations = s.expirations
    out.bytes = s.bytes
    out.entries = s.entries
    out.max_bytes = s.maxBytes
    out.max_entries = s.maxEntries
    out.shards = UInt32(s.shards)
    return out
}

// MARK: - Bodies shared by bc_store_* and bc_group_* (a group's writes go through
// the group, which orders them after its loads)

/// bc_store_set.
@inline(__always)
func setValue(in store: Store, _ function: StaticString, _ k: UnsafeRawPointer?, _ kLen: UInt,
              _ v: UnsafeRawPointer?, _ vLen: UInt, _ ttlMs: Int64) -> Int32
{
    setValue(function, k, kLen, v, vLen, ttlMs) { (k, v, t) throws(CacheError) in try store.set(k, v, ttl: t) }
}

/// bc_store_set, bc_group_set: `write` is the store's or the group's set.
@inline(__always)
func setValue(_ function: StaticString, _ k: UnsafeRawPointer?, _ kLen: UInt,
              _ v: UnsafeRawPointer?, _ vLen: UInt, _ ttlMs: Int64,
              _ write: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, TTL) throws(CacheError) -> Void) -> Int32
{
    call(function) { () throws(CacheError) in
        try write(key(k, kLen), value(v, vLen), ttl(ttlMs))
        return BC_OK
    }
}

/// bc_store_delete.
@inline(__always)
func deleteValue(in store: Store, _ function: StaticString, _ k: UnsafeRawPointer?, _ kLen: UInt) -> Int32 {
    deleteValue(function, k, kLen) { (k) throws(CacheError) in try store.delete(k) }
}

/// bc_store_delete, bc_group_delete: `remove` is the store's or the group's delete.
@inline(__always)
func deleteValue(_ function: StaticString, _ k: UnsafeRawPointer?, _ kLen: UInt,
                 _ remove: (UnsafeRawBufferPointer) throws(CacheError) -> Bool) -> Int32 {
    call(function) { () throws(CacheError) in
        guard try remove(key(k, kLen)) else {
            setError(BC_NOT_FOUND, "\(function): key not found")
            return BC_NOT_FOUND
        }
        return BC_OK
    }
}

/// bc_store_get, bc_group_get: checks the out-parameters, clears them, and fills them
/// with the copy `produce` makes (nil: not found).
@inline(__always)
func returnCopy(_ function: StaticString, _ val: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                _ valLen: UnsafeMutablePointer<UInt>?,
                _ produce: () throws(CacheError) -> UnsafeMutableRawBufferPointer?) -> Int32
{
    guard let val, let valLen else { return misuse(function, "val and val_len must not be NULL") }
    val.pointee = nil
    valLen.pointee = 0
    return call(function) { () throws(CacheError) in
        guard let copy = try produce() else {
            setError(BC_NOT_FOUND, "\(function): key not found")
            return BC_NOT_FOUND
        }
        val.pointee = copy.baseAddress
        valLen.pointee = UInt(copy.count)
        return BC_OK
    }
}

/// bc_store_get_stats, bc_group_get_store_stats.
func returnStats(of store: Store, _ out: UnsafeMutablePointer<bc_store_stats>, _ size: UInt) -> Int32 {
    copyOut(cStats(store.stats()), to: UnsafeMutableRawPointer(out), size: size)
    return BC_OK
}

@_cdecl("bc_store_options_init")
public func bc_store_options_init(_ o: UnsafeMutablePointer<bc_store_options>?) {
    if let o { fillDefaults(o) }
}

@_cdecl("bc_store_new")
public func bc_store_new(_ o: UnsafePointer<bc_store_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return misuse("bc_store_new", "out is NULL") }
    out.pointee = nil
    return call("bc_store_new") { () throws(CacheError) in
        let store = try Store(configuration(o))
        out.pointee = OpaquePointer(StoreRef.passRetained(store).toOpaque())
        return BC_OK
    }
}

@_cdecl("bc_store_free")
public func bc_store_free(_ s: OpaquePointer?) {
    guard let s else { return }
    storeRef(s).release()
}

@_cdecl("bc_store_set")
public func bc_store_set(_ s: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                         _ v: UnsafeRawPointer?, _ vLen: UInt, _ ttlMs: Int64) -> Int32
{
    guard let s else { return misuse("bc_store_set", "store is NULL") }
    return storeRef(s)._withUnsafeGuaranteedRef { setValue(in: $0, "bc_store_set", k, kLen, v, vLen, ttlMs) }
}

@_cdecl("bc_store_get")
public func bc_store_get(_ s: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                         _ val: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                         _ valLen: UnsafeMutablePointer<UInt>?) -> Int32
{
    returnCopy("bc_store_get", val, valLen) { () throws(CacheError) in
        guard let s else { throw CacheError(.misuse, "store is NULL") }
        let kb = try key(k, kLen)
        return try storeRef(s)._withUnsafeGuaranteedRef { store in
            Result { () throws(CacheError) in try store.copyValue(forKey: kb) }
        }.get()
    }
}

@_cdecl("bc_store_get_into")
public func bc_store_get_into(_ s: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt,
                              _ buf: UnsafeMutableRawPointer?, _ cap: UInt,
                              _ valLen: UnsafeMutablePointer<UInt>?) -> Int32
{
    guard let valLen else { return misuse("bc_store_get_into", "val_len must not be NULL") }
    valLen.pointee = 0
    guard let s else { return misuse("bc_store_get_into", "store is NULL") }
    return call("bc_store_get_into") { () throws(CacheError) in
        let kb = try key(k, kLen)
        guard buf != nil || cap == 0 else {
            throw CacheError(.invalidArgument, "buf is NULL but buf_cap is \(cap)")
        }
        let out = UnsafeMutableRawBufferPointer(start: buf, count: buf == nil ? 0 : Int(clamping: cap))
        let n = try storeRef(s)._withUnsafeGuaranteedRef { store in
            Result { () throws(CacheError) in try store.copyValue(forKey: kb, into: out) }
        }.get()
        guard let n else {
            setError(BC_NOT_FOUND, "bc_store_get_into: key not found")
            return BC_NOT_FOUND
        }
        valLen.pointee = UInt(n)
        if n > out.count {
            setError(BC_BUFFER_TOO_SMALL, "bc_store_get_into: the value does not fit the buffer; val_len has the length needed")
            return BC_BUFFER_TOO_SMALL
        }
        return BC_OK
    }
}

@_cdecl("bc_store_delete")
public func bc_store_delete(_ s: OpaquePointer?, _ k: UnsafeRawPointer?, _ kLen: UInt) -> Int32 {
    guard let s else { return misuse("bc_store_delete", "store is NULL") }
    return storeRef(s)._withUnsafeGuaranteedRef { deleteValue(in: $0, "bc_store_delete", k, kLen) }
}

@_cdecl("bc_store_clear")
public func bc_store_clear(_ s: OpaquePointer?) -> Int32 {
    guard let s else { return misuse("bc_store_clear", "store is NULL") }
    storeRef(s)._withUnsafeGuaranteedRef { $0.removeAll() }
    return BC_OK
}

@_cdecl("bc_store_get_stats")
public func bc_store_get_stats(_ s: OpaquePointer?, _ out: UnsafeMutablePointer<bc_store_stats>?, _ size: UInt) -> Int32 {
    guard let s else { return misuse("bc_store_get_stats", "store is NULL") }
    guard let out else { return misuse("bc_store_get_stats", "out is NULL") }
    return storeRef(s)._withUnsafeGuaranteedRef { returnStats(of: $0, out, size) }
}
