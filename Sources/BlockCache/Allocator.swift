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

    /// The bytes jemalloc reserves for a request of `size`: its size classes are
    /// 8, then multiples of 16 up to 128, then four classes per doubling
    /// (160, 192, 224, 256, 320, ...), for small and large sizes alike
    /// (LG_QUANTUM 4, LG_SIZE_CLASS_GROUP 2). Computed inline because it is on every
    /// set and every promotion; a test checks it against jemalloc's nallocx.
    @inline(__always)
    static func sizeClass(_ size: Int) -> Int {
        if size <= 8 { return 8 }
        if size <= 128 { return (size + 15) & ~15 }
        let lgFloor = Int.bitWidth - 1 - (size - 1).leadingZeroBitCount  // floor(log2(size - 1))
        let spacing = 1 << (lgFloor - 2)
        return (size + spacing - 1) & ~(spacing - 1)
    }

    /// jemalloc's own answer for ``sizeClass(_:)`` (or the system malloc's estimate).
    static func allocatorSizeClass(_ size: Int) -> Int {
        bcmem_size_class(size)
    }
}

extension Allocator {
    /// ``name`` as a static C string, for the C interface.
    public static var cName: UnsafePointer<CChar> { bcmem_allocator_name() }
}
