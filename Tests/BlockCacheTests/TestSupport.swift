@testable import BlockCache

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` on `n` real threads at once and waits for all of them. (Not Swift
/// tasks: the engine blocks threads, and the cooperative pool has only a few.)
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let threads = (0..<n).map { i in startThread { body(i) }! }
    for t in threads { pthread_join(t, nil) }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func sleepMilliseconds(_ ms: Int) { usleep(useconds_t(ms * 1000)) }

/// A deterministic pseudo-random generator (SplitMix64) so that failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

