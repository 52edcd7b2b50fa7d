public import NIOCore

/// One value of the Redis serialization protocol, RESP2 or RESP3
/// (https://redis.io/docs/latest/develop/reference/protocol-spec/).
///
/// Bulk payloads are `ByteBuffer` slices of the connection's read buffer: no copy.
public enum RESPValue: Sendable, Equatable {
    /// `+OK` — a short status line.
    case simpleString(String)
    /// `-ERR …` — an error reply; the first word is its kind.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5\r\nhello` — nil is RESP2's null bulk string (`$-1`).
    case bulkString(ByteBuffer?)
    /// `*2\r\n…` — nil is RESP2's null array (`*-1`).
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `,3.14`.
    case double(Double)
    /// RESP3 `%`: key-value pairs in wire order.
    case map([RESPValue])
    /// RESP3 `~` (a set) and `>` (a push) are decoded as arrays; `=` (verbatim) and
    /// `!` (bulk error) as bulk strings and errors; `(` (big number) as a simple string.
}

/// The limits a decoder enforces on what a peer sends. A frame over a limit is a
/// protocol error: the connection gets an error reply and is closed, so a client
/// cannot make a node buffer without bound.
public struct RESPLimits: Sendable, Hashable {
    /// Largest request or reply frame, all of its parts together.
    public var maxFrameBytes: Int
    /// Largest single bulk string (a value, a key, an argument).
    public var maxBulkBytes: Int
    /// Most elements in one array (arguments of a command), and most nesting levels × this.
    public var maxArrayLength: Int
    /// Deepest nesting of aggregates in a reply.
    public var maxDepth: Int
    /// Longest inline command or simple line (`+…`, `-…`, `:…`, a length header).
    public var maxLineBytes: Int

    public init(maxFrameBytes: Int = 64 << 20, maxBulkBytes: Int = 64 << 20, maxArrayLength: Int = 1 << 20,
                maxDepth: Int = 8, maxLineBytes: Int = 64 << 10) {
        self.maxFrameBytes = maxFrameBytes
        self.maxBulkBytes = maxBulkBytes
        self.maxArrayLength = maxArrayLength
        self.maxDepth = maxDepth
        self.maxLineBytes = maxLineBytes
    }
}

/// A frame that breaks the protocol or a limit. Its description is the text of the
/// error reply (after `ERR Protocol error: `) the server sends before it closes.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
