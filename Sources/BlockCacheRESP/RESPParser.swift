public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A command as a client sent it: its arguments, the first being the command name.
/// Arguments are slices of the read buffer (no copy).
public struct RESPRequest: Sendable {
    public var arguments: [ByteBuffer]
    public init(arguments: [ByteBuffer]) { self.arguments = arguments }
}

/// Decodes RESP frames from a buffer without consuming it: each call looks at the
/// readable bytes from the start, returns nil when the frame is not complete yet, and
/// throws ``RESPProtocolError`` as soon as the bytes seen break the protocol or a
/// limit (a declared length over the limit fails before its bytes arrive).
public struct RESPParser: Sendable {
    public let limits: RESPLimits

    public init(limits: RESPLimits = RESPLimits()) { self.limits = limits }

    // MARK: Requests

    /// One request at the start of `buffer`'s readable bytes: the request (nil for an
    /// empty one, which Redis ignores) and the reader index just past it; nil when
    /// more bytes are needed.
    public func parseRequest(_ buffer: ByteBuffer) throws(RESPProtocolError) -> (request: RESPRequest?, end: Int)? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        if first != UInt8(ascii: "*") { return try parseInline(buffer) }
        guard let (count, afterHeader) = try parseLength(buffer, at: start + 1, start: start) else { return nil }
        guard count > 0 else { return (nil, afterHeader) }  // *0 and *-1: nothing to run
        guard count <= limits.maxArrayLength else {
            throw RESPProtocolError("too many arguments (\(count); the limit is \(limits.maxArrayLength))")
        }
        var args: [ByteBuffer] = []
        args.reserveCapacity(count)
        var index = afterHeader
        for _ in 0..<count {
            guard let marker = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
            guard marker == UInt8(ascii: "$") else {
                throw RESPProtocolError("expected '$', got '\(printable(marker))'")
            }
            guard let (slice, next) = try parseBulkBody(buffer, at: index + 1, start: start) else { return nil }
            guard let slice else { throw RESPProtocolError("null bulk string in a request") }
            args.append(slice)
            index = next
        }
        return (RESPRequest(arguments: args), index)
    }

    /// An inline command: one line, arguments split on spaces (what telnet sends).
    private func parseInline(_ buffer: ByteBuffer) throws(RESPProtocolError) -> (request: RESPRequest?, end: Int)? {
        let start = buffer.readerIndex
        guard let (lineStart, lineLength, next) = try line(buffer, at: start) else { return nil }
        var args: [ByteBuffer] = []
        var i = lineStart
        let end = lineStart + lineLength
        while i < end {
            while i < end, buffer.getInteger(at: i, as: UInt8.self).map(isSpace) == true { i += 1 }
            let wordStart = i
            while i < end, buffer.getInteger(at: i, as: UInt8.self).map(isSpace) == false { i += 1 }
            if i > wordStart, let word = buffer.getSlice(at: wordStart, length: i - wordStart) { args.append(word) }
            if args.count > limits.maxArrayLength { throw RESPProtocolError("too many arguments") }
        }
        return (args.isEmpty ? nil : RESPRequest(arguments: args), next)
    }

    // MARK: Replies

    /// One value at the start of `buffer`'s readable bytes and the index past it; nil
    /// when more bytes are needed.
    public func parseValue(_ buffer: ByteBuffer) throws(RESPProtocolError) -> (value: RESPValue, end: Int)? {
        try value(buffer, at: buffer.readerIndex, start: buffer.readerIndex, depth: 0)
    }

    private func value(_ buffer: ByteBuffer, at index: Int, start: Int, depth: Int) throws(RESPProtocolError) -> (value: RESPValue, end: Int)? {
        guard let marker = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "("):
            guard let (s, n, next) = try line(buffer, at: index + 1) else { return nil }
            let text = buffer.getString(at: s, length: n) ?? ""
            return (marker == UInt8(ascii: "-") ? .error(text) : .simpleString(text), next)
        case UInt8(ascii: ":"):
            guard let (v, next) = try integerLine(buffer, at: index + 1) else { return nil }
            return (.integer(v), next)
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            guard let (slice, next) = try parseBulkBody(buffer, at: index + 1, start: start) else { return nil }
            if marker == UInt8(ascii: "!") {
                return (.error(slice.flatMap { $0.getString(at: $0.readerIndex, length: $0.readableBytes) } ?? ""), next)
            }
            if marker == UInt8(ascii: "="), var s = slice, s.readableBytes >= 4 {
                s.moveReaderIndex(forwardBy: 4)  // "txt:" — the verbatim format prefix
                return (.bulkString(s), next)
            }
            return (.bulkString(slice), next)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            guard depth < limits.maxDepth else { throw RESPProtocolError("aggregates nested deeper than \(limits.maxDepth)") }
            guard let (count, afterHeader) = try parseLength(buffer, at: index + 1, start: start) else { return nil }
            if count < 0 { return (marker == UInt8(ascii: "*") ? .array(nil) : .null, afterHeader) }
            let elements = marker == UInt8(ascii: "%") ? count * 2 : count
            guard count <= limits.maxArrayLength else {
                throw RESPProtocolError("aggregate of \(count) elements; the limit is \(limits.maxArrayLength)")
            }
            var items: [RESPValue] = []
            items.reserveCapacity(min(elements, 1024))
            var i = afterHeader
            for _ in 0..<elements {
                guard let (v, next) = try value(buffer, at: i, start: start, depth: depth + 1) else { return nil }
                items.append(v)
                i = next
            }
            return (marker == UInt8(ascii: "%") ? .map(items) : .array(items), i)
        case UInt8(ascii: "_"):
            guard let (_, n, next) = try line(buffer, at: index + 1) else { return nil }
            guard n == 0 else { throw RESPProtocolError("malformed null") }
            return (.null, next)
        case UInt8(ascii: "#"):
            guard let (s, n, next) = try line(buffer, at: index + 1) else { return nil }
            let c = n == 1 ? buffer.getInteger(at: s, as: UInt8.self) : nil
            guard c == UInt8(ascii: "t") || c == UInt8(ascii: "f") else { throw RESPProtocolError("malformed boolean") }
            return (.boolean(c == UInt8(ascii: "t")), next)
        case UInt8(ascii: ","):
            guard let (s, n, next) = try line(buffer, at: index + 1) else { return nil }
            guard let text = buffer.getString(at: s, length: n), let d = Double(text) else {
                throw RESPProtocolError("malformed double")
            }
            return (.double(d), next)
        default:
            throw RESPProtocolError("unknown type byte '\(printable(marker))'")
        }
    }

    // MARK: Pieces

    /// `<len>\r\n<bytes>\r\n` after a `$`: the slice (nil for `-1`) and the index past it.
    private func parseBulkBody(_ buffer: ByteBuffer, at index: Int, start: Int) throws(RESPProtocolError) -> (ByteBuffer?, Int)? {
        guard let (length, bodyStart) = try parseLength(buffer, at: index, start: start) else { return nil }
        if length < 0 { return (nil, bodyStart) }
        guard length <= limits.maxBulkBytes else {
            throw RESPProtocolError("bulk string of \(length) bytes; the limit is \(limits.maxBulkBytes)")
        }
        let end = bodyStart + length + 2
        guard end - start <= limits.maxFrameBytes else {
            throw RESPProtocolError("frame over \(limits.maxFrameBytes) bytes")
        }
        guard end <= buffer.writerIndex else { return nil }
        guard buffer.getInteger(at: end - 2, endianness: .big, as: UInt16.self) == 0x0D0A else {
            throw RESPProtocolError("bulk string not followed by CRLF")
        }
        return (buffer.getSlice(at: bodyStart, length: length), end)
    }

    /// A length header (`<n>\r\n`, n ≥ -1) and the index past it.
    private func parseLength(_ buffer: ByteBuffer, at index: Int, start: Int) throws(RESPProtocolError) -> (Int, Int)? {
        guard let (v, next) = try integerLine(buffer, at: index) else {
            if buffer.writerIndex - start > limits.maxFrameBytes { throw RESPProtocolError("frame over \(limits.maxFrameBytes) bytes") }
            return nil
        }
        guard v >= -1, v <= Int64(Int32.max) else { throw RESPProtocolError("invalid length \(v)") }
        return (Int(v), next)
    }

    private func integerLine(_ buffer: ByteBuffer, at index: Int) throws(RESPProtocolError) -> (Int64, Int)? {
        guard let (s, n, next) = try line(buffer, at: index) else { return nil }
        guard n > 0, n <= 20 else { throw RESPProtocolError("invalid integer") }
        var value: Int64 = 0
        var negative = false
        for i in 0..<n {
            let c = buffer.getInteger(at: s + i, as: UInt8.self)!
            if i == 0, c == UInt8(ascii: "-"), n > 1 { negative = true; continue }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { throw RESPProtocolError("invalid integer") }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw RESPProtocolError("integer out of range") }
            value = a
        }
        return (negative ? -value : value, next)
    }

    /// The line at `index`: its start, length (without CRLF) and the index past the LF.
    /// A bare LF ends a line too, as in Redis.
    private func line(_ buffer: ByteBuffer, at index: Int) throws(RESPProtocolError) -> (Int, Int, Int)? {
        let available = buffer.writerIndex - index
        guard available > 0 else { return nil }
        let window = min(available, limits.maxLineBytes + 2)
        let lf: Int? = buffer.withUnsafeReadableBytes { raw -> Int? in
            let base = raw.baseAddress! + (index - buffer.readerIndex)
            guard let p = memchr(base, 0x0A, window) else { return nil }
            return base.distance(to: UnsafeRawPointer(p))
        }
        guard let lf else {
            if available > limits.maxLineBytes { throw RESPProtocolError("line over \(limits.maxLineBytes) bytes") }
            return nil
        }
        var length = lf
        if length > 0, buffer.getInteger(at: index + length - 1, as: UInt8.self) == 0x0D { length -= 1 }
        return (index, length, index + lf + 1)
    }
}

@inline(__always)
private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }

private func printable(_ c: UInt8) -> String {
    (0x21...0x7E).contains(c) ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
}

/// Splits a byte stream into requests (server side). Throws ``RESPProtocolError``
/// for a malformed or oversized frame; the server answers it and closes.
public struct RESPRequestDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RESPRequest
    private let parser: RESPParser

    public init(limits: RESPLimits) { parser = RESPParser(limits: limits) }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let (request, end) = try parser.parseRequest(buffer) else { return .needMoreData }
        buffer.moveReaderIndex(to: end)
        if let request { context.fireChannelRead(wrapInboundOut(request)) }
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Splits a byte stream into reply values (client side).
public struct RESPReplyDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RESPValue
    private let parser: RESPParser

    public init(limits: RESPLimits) { parser = RESPParser(limits: limits) }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let (value, end) = try parser.parseValue(buffer) else { return .needMoreData }
        buffer.moveReaderIndex(to: end)
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
