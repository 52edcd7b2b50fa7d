#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Milliseconds on the monotonic clock: immune to wall-clock changes, which is what
/// expiry deadlines need.
enum MonotonicClock {
    @inline(__always)
    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1000 &+ Int64(ts.tv_nsec) / 1_000_000
    }
}
