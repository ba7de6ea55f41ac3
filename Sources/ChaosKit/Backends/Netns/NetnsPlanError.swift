/// A fault that cannot be planned on this layout (unknown host, missing PID...).
public struct NetnsPlanError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public static let unknownHost = Code("unknownHost")
        public static let unknownDatastore = Code("unknownDatastore")
        public static let datastoreNotMounted = Code("datastoreNotMounted")
        public static let missingPID = Code("missingPID")
        public static let invalidValue = Code("invalidValue")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
