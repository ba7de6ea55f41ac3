/// A netns bring-up, tear-down or fault step failed.
public struct NetnsError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A command failed (see ``NetnsError/command``).
        public static let command = Code("command")
        /// A bounded wait or a command timed out.
        public static let timeout = Code("timeout")
        /// The journal could not be written: nothing is created without its entry.
        public static let journal = Code("journal")
        /// A control file could not be written or removed.
        public static let file = Code("file")
        /// The machine lacks something the backend needs (root, `ip netns`, iptables...).
        public static let unsupported = Code("unsupported")
        /// No free management subnet.
        public static let noSubnet = Code("noSubnet")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The failed command, when there is one.
    public var command: CommandError?

    public init(code: Code, message: String, command: CommandError? = nil) {
        self.code = code
        self.message = message
        self.command = command
    }

    public var description: String { "netns \(code): \(message)" }
}
