/// An error from the engine: a code that callers can switch on and a message for people.
///
/// The code is a struct rather than an enum so that adding a code breaks no one.
public struct CacheError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in a form callers can compare.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: UInt8 { case notFound, invalidArgument, tooLarge, noMemory, loaderFailed, misuse, internalError, unavailable }
        let kind: Kind

        public static let notFound = Code(kind: .notFound)
        public static let invalidArgument = Code(kind: .invalidArgument)
        public static let tooLarge = Code(kind: .tooLarge)
        public static let noMemory = Code(kind: .noMemory)
        public static let loaderFailed = Code(kind: .loaderFailed)
        public static let misuse = Code(kind: .misuse)
        public static let `internal` = Code(kind: .internalError)
        /// Another node could not be reached (or refused the call).
        public static let unavailable = Code(kind: .unavailable)

        public var description: String { "\(kind)" }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
