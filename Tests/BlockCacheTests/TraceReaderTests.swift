import Testing
import BlockCacheTrace

/// The trace formats of shared/traces/README.md, on small in-memory samples (the
/// trace files themselves are not needed).
@Suite struct TraceReaderTests {
    /// Decodes `text` whole, and again cut into chunks at every possible point, and
    /// checks that every way gives the same keys.
    func decodeEveryWay(_ bytes: [UInt8], _ format: TraceFormat) throws -> [Int64] {
        let whole = try TraceDecoder.decode(bytes, format: format)
        for cut in 0...bytes.count {
            var decoder = TraceDecoder(format: format)
            var keys: [Int64] = []
            try bytes[..<cut].withUnsafeBytes { try decoder.decode($0, into: &keys) }
            try bytes[cut...].withUnsafeBytes { try decoder.decode($0, into: &keys) }
            try decoder.finish(into: &keys)
            #expect(keys == whole, "cut at byte \(cut)")
        }
        return whole
    }

    @Test func lirsLinesStarsAndCRLF() throws {
        let text = "0\r\n17\r\n*\r\n123456789012\n\n*\n-5\n42"  // no newline after the last key
        #expect(try decodeEveryWay(Array(text.utf8), .lirs) == [0, 17, 123_456_789_012, -5, 42])
    }

    @Test func lirsExtremesAndErrors() throws {
        #expect(try TraceDecoder.decode(Array("9223372036854775807\n-9223372036854775808\n".utf8), format: .lirs)
            == [.max, .min])
        for bad in ["9223372036854775808\n", "12x\n", "1 2\n", "-\n", "* 3\n", "4 *\n"] {
            #expect(throws: TraceError.self, "\(bad.debugDescription)") {
                try TraceDecoder.decode(Array(bad.utf8), format: .lirs)
            }
        }
        do {
            _ = try TraceDecoder.decode(Array("1\n2\nthree\n".utf8), format: .lirs)
            Issue.record("no error")
        } catch {
            #expect(error.message.hasPrefix("line 3:"))
        }
    }

    @Test func arcLinesExpandToRuns() throws {
        let text = "10 3 0 0\n5 1 0 1\r\n7 0 0 2\n\n100 2 0 3"
        #expect(try decodeEveryWay(Array(text.utf8), .arc) == [10, 11, 12, 5, 100, 101])
        for bad in ["1 2 3\n", "1 -2 0 0\n", "*\n", "9223372036854775807 2 0 0\n"] {
            #expect(throws: TraceError.self, "\(bad.debugDescription)") {
                try TraceDecoder.decode(Array(bad.utf8), format: .arc)
            }
        }
    }

    @Test func bigEndian64() throws {
        let bytes: [UInt8] = [
            0, 0, 0, 0, 0, 0, 0, 1,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        ]
        #expect(try decodeEveryWay(bytes, .i64be) == [1, -2, 0x0102_0304_0506_0708])
        #expect(throws: TraceError.self) { try TraceDecoder.decode(bytes.dropLast(), format: .i64be) }
    }

    @Test func bigEndian32() throws {
        let bytes: [UInt8] = [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0x7f, 0xff, 0xff, 0xff, 0x80, 0, 0, 0]
        #expect(try decodeEveryWay(bytes, .i32be) == [1, -2, Int64(Int32.max), Int64(Int32.min)])
        #expect(throws: TraceError.self) { try TraceDecoder.decode(bytes + [0], format: .i32be) }
    }

    @Test func formatAndCompressionFromFileNames() {
        let expected: [(String, TraceFormat?)] = [
            ("arc-oltp.gz", .arc), ("arc-p3.gz", .arc), ("lirs-gli.gz", .lirs), ("lirs-loop.gz", .lirs),
            ("scarab-recs.i64be.xz", .i64be), ("corda-vaultservice.i64be.gz", .i64be),
            ("cache2k-web07.i32be.xz", .i32be), ("/some/dir/x.i32be", .i32be), ("notes.txt", nil),
        ]
        for (name, format) in expected {
            #expect(TraceFormat(fileName: name) == format, "\(name)")
        }
        #expect(Compression(fileName: "a.gz").decompressor == ["gzip", "-dc"])
        #expect(Compression(fileName: "a.i64be.xz").decompressor == ["xz", "-dc"])
        #expect(Compression(fileName: "a.i64be").decompressor == nil)
        #expect(TraceFormat(name: "LIRS") == .lirs)
    }
}
