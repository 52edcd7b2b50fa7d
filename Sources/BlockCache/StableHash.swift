/// A stable 64-bit hash of byte strings: wyhash (final version 4.3 of Wang Yi's
/// public-domain algorithm, https://github.com/wangyi-fudan/wyhash) with a fixed seed
/// and its default secret, reading bytes as little-endian on every platform.
///
/// Stable means the same bytes hash to the same value in every process and on every
/// machine, which the consistent-hash ring relies on. It is also fast on short keys
/// (a handful of multiplies), which the store's hit path relies on.
public enum StableHash {
    @usableFromInline static let s0: UInt64 = 0x2d35_8dcc_aa6c_78a5
    @usableFromInline static let s1: UInt64 = 0x8bb8_4b93_962e_acc9
    @usableFromInline static let s2: UInt64 = 0x4b33_a62e_d433_d4a3
    @usableFromInline static let s3: UInt64 = 0x4d5a_2da5_1de1_aa47

    /// Hashes `bytes`.
    /// - Complexity: O(n) in the length.
    @inlinable
    public static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        hash64(bytes, seed: 0)
    }

    /// wyhash with a seed; the reference test vectors use seeds 0...6.
    @inlinable
    static func hash64(_ bytes: UnsafeRawBufferPointer, seed userSeed: UInt64) -> UInt64 {
        var seed = userSeed ^ mix(userSeed ^ s0, s1)
        let len = bytes.count
        guard let p = bytes.baseAddress, len > 0 else {
            return finish(a: 0, b: 0, seed: seed, len: 0)
        }
        var a: UInt64
        var b: UInt64
        if len <= 16 {
            if len >= 4 {
                let q = (len >> 3) << 2
                a = (r4(p, 0) << 32) | r4(p, q)
                b = (r4(p, len - 4) << 32) | r4(p, len - 4 - q)
            } else {
                a = (UInt64(p.load(as: UInt8.self)) << 16)
                    | (UInt64(p.load(fromByteOffset: len >> 1, as: UInt8.self)) << 8)
                    | UInt64(p.load(fromByteOffset: len - 1, as: UInt8.self))
                b = 0
            }
        } else {
            var i = len
            var q = p
            if i >= 48 {
                var see1 = seed
                var see2 = seed
                repeat {
                    seed = mix(r8(q, 0) ^ s1, r8(q, 8) ^ seed)
                    see1 = mix(r8(q, 16) ^ s2, r8(q, 24) ^ see1)
                    see2 = mix(r8(q, 32) ^ s3, r8(q, 40) ^ see2)
                    q += 48
                    i -= 48
                } while i >= 48
                seed ^= see1 ^ see2
            }
            while i > 16 {
                seed = mix(r8(q, 0) ^ s1, r8(q, 8) ^ seed)
                i -= 16
                q += 16
            }
            a = r8(q, i - 16)
            b = r8(q, i - 8)
        }
        return finish(a: a, b: b, seed: seed, len: len)
    }

    /// Hashes the bytes of a collection with contiguous storage (arrays, strings' UTF-8).
    @inlinable
    public static func hash64(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash64($0) }
    }

    /// Hashes a string's UTF-8 bytes.
    @inlinable
    public static func hash64(_ string: String) -> UInt64 {
        var s = string
        return s.withUTF8 { hash64(UnsafeRawBufferPointer($0)) }
    }

    @inlinable @inline(__always)
    static func finish(a: UInt64, b: UInt64, seed: UInt64, len: Int) -> UInt64 {
        let m = (a ^ s1).multipliedFullWidth(by: b ^ seed)
        return mix(m.low ^ s0 ^ UInt64(len), m.high ^ s1)
    }

    @inlinable @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.low ^ m.high
    }

    @inlinable @inline(__always)
    static func r8(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable @inline(__always)
    static func r4(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }
}
