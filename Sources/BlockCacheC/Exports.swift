// The C interface of libblockcache.so (include/blockcache.h): every function here
// converts C arguments to engine calls and engine results and errors to C, and
// decides nothing else. Documentation of each function is in the header.
import CBlockCacheABI
import BlockCache

// MARK: - Status and errors

@inline(__always)
func status(_ code: CacheError.Code) -> Int32 {
    switch code {
    case .notFound: return BC_NOT_FOUND
    case .invalidArgument: return BC_INVALID_ARGUMENT
    case .tooLarge: return BC_TOO_LARGE
    case .noMemory: return BC_NO_MEMORY
    case .loaderFailed: return BC_LOADER_FAILED
    case .misuse: return BC_MISUSE
    case .unavailable: return BC_UNAVAILABLE
    default: return BC_INTERNAL
    }
}

func setError(_ code: Int32, _ message: String) {
    message.withCString { bcabi_set_error(code, $0) }
}

@inline(__always)
func setError(_ code: Int32, _ message: StaticString) {
    bcabi_set_error(code, cString(message))
}

@inline(never)
func fail(_ function: StaticString, _ error: CacheError) -> Int32 {
    let code = status(error.code)
    setError(code, "\(function): \(error.message)")
    return code
}

@inline(never)
func misuse(_ function: StaticString, _ what: String) -> Int32 {
    setError(BC_MISUSE, "\(function): \(what)")
    return BC_MISUSE
}

/// Runs `body`, turning a thrown ``CacheError`` into its status and message.
@inline(__always)
func call(_ function: StaticString, _ body: () throws(CacheError) -> Int32) -> Int32 {
    do {
        return try body()
    } catch {
        return fail(function, error)
    }
}

// MARK: - Arguments

/// A (pointer, length) pair as bytes: NULL is allowed only with length 0, and the
/// length is checked against `limit` before the pointer is used.
@inline(__always)
func bytes(_ p: UnsafeRawPointer?, _ n: UInt, limit: Int, _ what: StaticString) throws(CacheError) -> UnsafeRawBufferPointer {
    if n == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
    guard n <= UInt(limit) else {
        throw CacheError(.tooLarge, "\(what) is \(n) bytes; the limit is \(limit)")
    }
    guard let p else { throw CacheError(.invalidArgument, "\(what) is NULL but its length is \(n)") }
    return UnsafeRawBufferPointer(start: p, count: Int(n))
}

@inline(__always)
func key(_ p: UnsafeRawPointer?, _ n: UInt) throws(CacheError) -> UnsafeRawBufferPointer {
    try bytes(p, n, limit: Store.maxKeyLength, "key")
}

@inline(__always)
func value(_ p: UnsafeRawPointer?, _ n: UInt) throws(CacheError) -> UnsafeRawBufferPointer {
    try bytes(p, n, limit: Store.maxValueLength, "value")
}

@inline(__always)
func ttl(_ ms: Int64) throws(CacheError) -> TTL {
    switch ms {
    case 0: return .default
    case BC_TTL_NEVER_VALUE: return .never
    case 1...: return .milliseconds(ms)
    default: throw CacheError(.invalidArgument, "ttl_ms must be > 0, 0 (default) or BC_TTL_NEVER (-1); got \(ms)")
    }
}

/// BC_TTL_NEVER is a cast expression in C, which Swift does not import.
let BC_TTL_NEVER_VALUE: Int64 = -1

func string(_ p: UnsafePointer<CChar>) -> String { String(cString: p) }

/// Copies `s` into allocator memory as a NUL-terminated string (released by bc_free).
func allocatedCString(_ s: String) -> UnsafeMutablePointer<CChar>? {
    let utf8 = Array(s.utf8)
    guard let raw = Allocator.allocate(utf8.count + 1) else { return nil }
    utf8.withUnsafeBytes { if $0.count > 0 { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
    raw.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
    return raw.bindMemory(to: CChar.self, capacity: utf8.count + 1)
}

func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Copies a stats struct into the caller's, writing at most `size` bytes.
func copyOut<T>(_ value: T, to out: UnsafeMutableRawPointer, size: UInt) {
    withUnsafeBytes(of: value) { src in
        out.copyMemory(from: src.baseAddress!, byteCount: min(src.count, Int(size)))
    }
}

// MARK: - Library

@_cdecl("bc_version_number")
public func bc_version_number() -> UInt32 { UInt32(BC_VERSION_MAJOR * 10000 + BC_VERSION_MINOR * 100 + BC_VERSION_PATCH) }

@_cdecl("bc_version_string")
public func bc_version_string() -> UnsafePointer<CChar> { bcabi_version_string() }

@_cdecl("bc_allocator_name")
public func bc_allocator_name() -> UnsafePointer<CChar> { Allocator.cName }

@_cdecl("bc_strerror")
public func bc_strerror(_ code: Int32) -> UnsafePointer<CChar> {
    switch code {
    case BC_OK: return cString("BC_OK: success")
    case BC_NOT_FOUND: return cString("BC_NOT_FOUND: key not found")
    case BC_INVALID_ARGUMENT: return cString("BC_INVALID_ARGUMENT: invalid argument")
    case BC_MISUSE: return cString("BC_MISUSE: NULL handle or object used outside its lifetime")
    case BC_NO_MEMORY: return cString("BC_NO_MEMORY: out of memory")
    case BC_TOO_LARGE: return cString("BC_TOO_LARGE: key, value or entry too large")
    case BC_BUFFER_TOO_SMALL: return cString("BC_BUFFER_TOO_SMALL: buffer too small for the value")
    case BC_LOADER_FAILED: return cString("BC_LOADER_FAILED: the loader failed")
    case BC_INTERNAL: return cString("BC_INTERNAL: internal error")
    case BC_UNAVAILABLE: return cString("BC_UNAVAILABLE: a node could not be reached or refused the call")
    default: return cString("unknown status code")
    }
}

@_cdecl("bc_last_error_message")
public func bc_last_error_message() -> UnsafePointer<CChar> { bcabi_last_error() }

@_cdecl("bc_last_error_code")
public func bc_last_error_code() -> Int32 { bcabi_last_error_code() }

@_cdecl("bc_free")
public func bc_free(_ p: UnsafeMutableRawPointer?) { Allocator.free(p) }

@_cdecl("bc_hash64")
public func bc_hash64(_ data: UnsafeRawPointer?, _ len: UInt) -> UInt64 {
    guard let data, len > 0 else { return StableHash.hash64(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return StableHash.hash64(UnsafeRawBufferPointer(start: data, count: Int(len)))
}
