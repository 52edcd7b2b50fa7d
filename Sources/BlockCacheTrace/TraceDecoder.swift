/// Turns the bytes of a trace, fed in chunks of any size, into its keys.
///
/// Streaming, so a trace decompressed through a pipe never needs its text in memory
/// at once; a chunk may end anywhere, even inside a number or a binary key. Text is
/// scanned byte by byte with a small state machine (no per-line allocation): a line
/// is split into whitespace-separated signed decimal fields, then handed to the
/// format's rule (`lirs`: one field, or a lone `*`; `arc`: exactly four).
///
/// ```swift
/// var decoder = TraceDecoder(format: .lirs)
/// var keys: [Int64] = []
/// try decoder.decode(chunk, into: &keys)   // as often as there are chunks
/// try decoder.finish(into: &keys)          // a last line without a newline
/// ```
public struct TraceDecoder: Sendable {
    public let format: TraceFormat

    // Text state: the line being scanned.
    /// 1-based number of the current line, for error messages.
    private var line = 1
    private var fieldCount = 0
    /// The first two fields of the line (all that `lirs` and `arc` use).
    private var first: Int64 = 0
    private var second: Int64 = 0
    private var sawStar = false
    // The field being scanned.
    private var inField = false
    private var negative = false
    private var digits = 0
    private var magnitude: UInt64 = 0

    // Binary state: the bytes of a key split across two chunks.
    private var partial: UInt64 = 0
    private var partialCount = 0

    public init(format: TraceFormat) {
        self.format = format
    }

    /// Decodes the whole of `bytes` (one chunk, then ``finish(into:)``).
    public static func decode(_ bytes: some Sequence<UInt8>, format: TraceFormat) throws(TraceError) -> [Int64] {
        var decoder = TraceDecoder(format: format)
        var keys: [Int64] = []
        // withUnsafeBytes rethrows untyped errors: carry ours out by hand.
        var failure: TraceError?
        Array(bytes).withUnsafeBytes { raw in
            do throws(TraceError) { try decoder.decode(raw, into: &keys) } catch { failure = error }
        }
        if let failure { throw failure }
        try decoder.finish(into: &keys)
        return keys
    }

    /// Appends the keys that `chunk` completes to `keys`.
    /// - Throws: ``TraceError`` naming the line (text) or byte offset (binary).
    /// - Complexity: O(chunk.count + keys appended).
    public mutating func decode(_ chunk: UnsafeRawBufferPointer, into keys: inout [Int64]) throws(TraceError) {
        if let width = format.binaryWidth {
            decodeBinary(chunk, width: width, into: &keys)
        } else {
            try decodeText(chunk, into: &keys)
        }
    }

    /// Ends the stream: a last text line without a newline counts; a binary trace
    /// whose length is not a multiple of the key width is an error.
    public mutating func finish(into keys: inout [Int64]) throws(TraceError) {
        if let width = format.binaryWidth {
            guard partialCount == 0 else {
                throw TraceError("\(format) trace ends with \(partialCount) stray bytes (its length is not a multiple of \(width))")
            }
        } else if inField || fieldCount > 0 || sawStar {
            try endLine(into: &keys)
        }
    }

    // MARK: - Binary

    private mutating func decodeBinary(_ chunk: UnsafeRawBufferPointer, width: Int, into keys: inout [Int64]) {
        var i = 0
        let n = chunk.count
        // Finish a key begun in the previous chunk.
        while partialCount > 0 && i < n {
            partial = partial << 8 | UInt64(chunk[i])
            partialCount += 1
            i += 1
            if partialCount == width {
                keys.append(Self.signExtend(partial, width: width))
                partial = 0
                partialCount = 0
            }
        }
        let whole = (n - i) / width
        for _ in 0..<whole {
            var v: UInt64 = 0
            for j in 0..<width { v = v << 8 | UInt64(chunk[i + j]) }
            keys.append(Self.signExtend(v, width: width))
            i += width
        }
        while i < n {
            partial = partial << 8 | UInt64(chunk[i])
            partialCount += 1
            i += 1
        }
    }

    @inline(__always)
    private static func signExtend(_ v: UInt64, width: Int) -> Int64 {
        width == 8 ? Int64(bitPattern: v) : Int64(Int32(truncatingIfNeeded: v))
    }

    // MARK: - Text

    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let minus = UInt8(ascii: "-")
    private static let star = UInt8(ascii: "*")
    private static let zero = UInt8(ascii: "0")
    private static let nine = UInt8(ascii: "9")

    private mutating func decodeText(_ chunk: UnsafeRawBufferPointer, into keys: inout [Int64]) throws(TraceError) {
        for byte in chunk {
            switch byte {
            case Self.zero...Self.nine:
                if !inField { beginField(negative: false) }
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - Self.zero))
                // Int64.min's magnitude is 2^63, one past Int64.max.
                guard !o1, !o2, sum <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                    throw TraceError("line \(line): number out of the 64-bit range")
                }
                magnitude = sum
                digits += 1
            case Self.space, Self.tab, Self.carriageReturn:
                try endField()
            case Self.newline:
                try endLine(into: &keys)
            case Self.minus where !inField:
                beginField(negative: true)
            case Self.star where format == .lirs && !inField && !sawStar && fieldCount == 0:
                sawStar = true
            default:
                throw TraceError("line \(line): unexpected \(Self.show(byte)) in a \(format) trace")
            }
        }
    }

    @inline(__always)
    private mutating func beginField(negative: Bool) {
        inField = true
        self.negative = negative
        digits = 0
        magnitude = 0
    }

    private mutating func endField() throws(TraceError) {
        guard inField else { return }
        inField = false
        guard digits > 0 else { throw TraceError("line \(line): a '-' without digits") }
        guard !sawStar else { throw TraceError("line \(line): a number after '*'") }
        let value = negative ? Int64(bitPattern: 0 &- magnitude) : Int64(magnitude)
        switch fieldCount {
        case 0: first = value
        case 1: second = value
        default: break
        }
        fieldCount += 1
    }

    private mutating func endLine(into keys: inout [Int64]) throws(TraceError) {
        try endField()
        defer {
            line += 1
            fieldCount = 0
            sawStar = false
        }
        if sawStar || fieldCount == 0 { return }  // a `*` line or a blank one
        switch format {
        case .lirs:
            guard fieldCount == 1 else {
                throw TraceError("line \(line): \(fieldCount) numbers; a lirs line holds one key")
            }
            keys.append(first)
        case .arc:
            guard fieldCount == 4 else {
                throw TraceError("line \(line): \(fieldCount) numbers; an arc line is `start count x y`")
            }
            guard second >= 0 else { throw TraceError("line \(line): negative count \(second)") }
            guard second == 0 || first.addingReportingOverflow(second - 1).overflow == false else {
                throw TraceError("line \(line): start + count overflows 64 bits")
            }
            var k = first
            for _ in 0..<second {
                keys.append(k)
                k &+= 1
            }
        case .i64be, .i32be:
            preconditionFailure("binary formats never reach the text scanner")
        }
    }

    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7e).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}
