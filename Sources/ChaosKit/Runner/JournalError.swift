/// Why the journal could not be written or read.
public struct JournalError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The file or its directory could not be created, written or synced.
        public static let io = Code("io")
        /// The file has no valid header.
        public static let corrupt = Code("corrupt")
        /// A journal for this run id already exists.
        public static let exists = Code("exists")
        /// The sequence number is not in this journal.
        public static let unknownEntry = Code("unknownEntry")
        public var description: String { name }
    }

    public var code: Code
    public var path: String
    public var message: String

    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "journal \(code): \(path): \(message)" }
}
