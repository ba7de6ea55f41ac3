/// The identity of one harness run: 6 lowercase hex characters, random (e.g. `a3f09c`).
///
/// Everything a run creates on the machine carries it, so that the ``Reaper`` can find and
/// remove it after a crash: namespaces, mounts and cgroups use ``prefix`` (`hac-a3f09c`),
/// network interfaces use ``interfacePrefix`` (`haca3f09c`, so that a suffix of up to 4
/// characters keeps the name within the kernel's 15).
public struct RunID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts exactly 6 lowercase hexadecimal characters.
    public init?(_ rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// A fresh random id.
    public static func random() -> RunID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A random id from `generator` (tests pass a seeded one).
    public static func random(using generator: inout some RandomNumberGenerator) -> RunID {
        let digits = Array("0123456789abcdef")
        let text = String((0..<6).map { _ in digits[Int(generator.next(upperBound: UInt8(16)))] })
        return RunID(text)!
    }

    /// Whether `text` is a well-formed run id.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 6 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// `hac-<id>`: the prefix of namespace, mount and cgroup names.
    public var prefix: String { "hac-\(rawValue)" }
    /// `hac<id>`: the prefix of interface names (≤ 15 characters in all).
    public var interfacePrefix: String { "hac\(rawValue)" }
    /// The id as a number (for deriving the subnet).
    public var numericValue: Int { Int(rawValue, radix: 16)! }

    public var description: String { rawValue }
    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = RunID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a run id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The run id right after `hac-` or `hac` at the start of `name` (loose: the naming scheme's
    /// own parsers, e.g. ``NetnsLayout/runID(ofInterface:)``, also check what follows).
    public static func embedded(in name: some StringProtocol) -> RunID? {
        var rest = Substring(name)
        guard rest.hasPrefix("hac") else { return nil }
        rest = rest.dropFirst(3)
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        return RunID(String(rest.prefix(6)))
    }
}
