public import NIOCore

/// Which protocol a connection speaks: RESP2 by default, RESP3 after `HELLO 3`.
public enum RESPVersion: Int, Sendable {
    case resp2 = 2
    case resp3 = 3
}

/// Writes RESP frames into a `ByteBuffer`.
extension ByteBuffer {
    @inlinable
    public mutating func writeRESPSimpleString(_ s: String) {
        writeInteger(UInt8(ascii: "+"))
        writeOneLine(s)
        writeCRLF()
    }

    /// `text` with every CR and LF byte written as a space: a status or error line must
    /// stay one line whatever it quotes (bytes, not Characters: "\r\n" is one Character).
    @inlinable
    mutating func writeOneLine(_ text: String) {
        if text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            writeBytes(text.utf8.map { $0 == 0x0D || $0 == 0x0A ? UInt8(ascii: " ") : $0 })
        } else {
            writeString(text)
        }
    }

    /// An error reply. `message` starts with its kind (`ERR`, `WRONGTYPE`, `NOAUTH`…);
    /// line breaks in it are replaced, since an error is one line.
    @inlinable
    public mutating func writeRESPError(_ message: String) {
        writeInteger(UInt8(ascii: "-"))
        writeOneLine(message)
        writeCRLF()
    }

    @inlinable
    public mutating func writeRESPInteger(_ v: Int64) {
        writeInteger(UInt8(ascii: ":"))
        writeDecimal(v)
        writeCRLF()
    }

    @inlinable
    public mutating func writeRESPBulk(_ bytes: UnsafeRawBufferPointer) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(Int64(bytes.count))
        writeCRLF()
        writeBytes(bytes)
        writeCRLF()
    }

    @inlinable
    public mutating func writeRESPBulk(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeRESPBulk($0) }
    }

    @inlinable
    public mutating func writeRESPBulk(_ s: String) {
        var s = s
        s.withUTF8 { writeRESPBulk(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public mutating func writeRESPBulk(_ b: ByteBuffer) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(Int64(b.readableBytes))
        writeCRLF()
        writeImmutableBuffer(b)
        writeCRLF()
    }

    /// A null: `$-1` in RESP2, `_` in RESP3.
    @inlinable
    public mutating func writeRESPNull(_ version: RESPVersion) {
        switch version {
        case .resp2: writeStaticString("$-1\r\n")
        case .resp3: writeStaticString("_\r\n")
        }
    }

    @inlinable
    public mutating func writeRESPArrayHeader(_ count: Int) {
        writeInteger(UInt8(ascii: "*"))
        writeDecimal(Int64(count))
        writeCRLF()
    }

    /// A map header: `%n` in RESP3; in RESP2 an array of 2n elements.
    @inlinable
    public mutating func writeRESPMapHeader(_ pairs: Int, _ version: RESPVersion) {
        switch version {
        case .resp2: writeRESPArrayHeader(pairs * 2)
        case .resp3:
            writeInteger(UInt8(ascii: "%"))
            writeDecimal(Int64(pairs))
            writeCRLF()
        }
    }

    /// Any value (for requests a client sends, and for tests).
    public mutating func writeRESPValue(_ value: RESPValue) {
        switch value {
        case .simpleString(let s): writeRESPSimpleString(s)
        case .error(let s): writeRESPError(s)
        case .integer(let v): writeRESPInteger(v)
        case .bulkString(let b?): writeRESPBulk(b)
        case .bulkString(nil): writeStaticString("$-1\r\n")
        case .array(let items?):
            writeRESPArrayHeader(items.count)
            for item in items { writeRESPValue(item) }
        case .array(nil): writeStaticString("*-1\r\n")
        case .null: writeStaticString("_\r\n")
        case .boolean(let b): writeStaticString(b ? "#t\r\n" : "#f\r\n")
        case .double(let d):
            writeInteger(UInt8(ascii: ","))
            writeString(d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : "\(d)")
            writeCRLF()
        case .map(let items):
            writeInteger(UInt8(ascii: "%"))
            writeDecimal(Int64(items.count / 2))
            writeCRLF()
            for item in items { writeRESPValue(item) }
        }
    }

    /// A command as an array of bulk strings.
    public mutating func writeRESPCommand(_ arguments: [ByteBuffer]) {
        writeRESPArrayHeader(arguments.count)
        for a in arguments { writeRESPBulk(a) }
    }

    @inlinable
    mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }

    @inlinable
    mutating func writeDecimal(_ v: Int64) {
        if v >= 0, v < 10 {
            writeInteger(UInt8(ascii: "0") + UInt8(v))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for any Int64
        let written = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var n = v.magnitude
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            if v < 0 { i -= 1; raw[i] = UInt8(ascii: "-") }
            return i
        }
        withUnsafeBytes(of: &digits) { raw in
            _ = writeBytes(UnsafeRawBufferPointer(rebasing: raw[written...]))
        }
    }
}
