import CBlockCacheAlloc

/// The allocator that holds the store's entries and the copies handed to callers:
/// a private static jemalloc build when it is linked into the binary (as in
/// libblockcache.so), otherwise the system malloc.
public enum Allocator {
    /// "jemalloc <version> (private static build)" or "system malloc (...)".
    public static var name: String { String(cString: bcmem_allocator_name()) }

    /// Whether the private jemalloc is in use.
    public static var isJemalloc: Bool { bcmem_is_jemalloc() != 0 }

    /// Bytes currently allocated through it (0 when the allocator cannot tell).
    public static var allocatedBytes: UInt64 { bcmem_allocated_bytes() }

    /// Allocates `count` bytes; nil when out of memory. Release with ``free(_:)``.
    public static func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
        bcmem_malloc(count)
    }

    /// Releases memory from ``allocate(_:)`` or a store's copy functions.
    public static func free(_ pointer: UnsafeMutableRawPointer?) {
        bcmem_free(pointer)
    }

    @inline(__always)
    static func free(_ pointer: UnsafeMutableRawPointer, size: Int) {
        bcmem_free_sized(pointer, size)
    }

    @inline(__always)
    static func sizeClass(_ size: Int) -> Int {
        bcmem_size_class(size)
    }
}

extension Allocator {
    /// ``name`` as a static C string, for the C interface.
    public static var cName: UnsafePointer<CChar> { bcmem_allocator_name() }
}
