import Foundation

// MARK: - ClusterKeyring

/// The per-cluster keys that authenticate agent-to-agent datagrams (docs/NODES.md §4, issue 7).
///
/// Distributed with the cluster configuration as `N/config/keys.json` on every host:
/// `{"current":"k2","keys":[{"id":"k1","secret":"<hex>"},{"id":"k2","secret":"<hex>"}]}`.
/// Senders MAC with `current`; receivers accept any listed key. Rotation without a gap: add the
/// new key everywhere, make it `current` everywhere, then remove the old one. The agent re-reads
/// the file when it changes.
public struct ClusterKeyring: Hashable, Sendable, Codable {
    /// One key.
    public struct Key: Hashable, Sendable, Codable {
        /// A short name, carried in each datagram's `kid`.
        public var id: String
        /// The secret, as lowercase hex on disk (16 to 64 bytes).
        public var secret: [UInt8]

        public init(id: String, secret: [UInt8]) {
            self.id = id
            self.secret = secret
        }

        enum CodingKeys: String, CodingKey { case id, secret }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            let hex = try c.decode(String.self, forKey: .secret)
            guard let bytes = ClusterKeyring.bytes(fromHex: hex) else {
                throw DecodingError.dataCorruptedError(forKey: .secret, in: c, debugDescription: "secret is not hex")
            }
            secret = bytes
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(ClusterKeyring.hex(secret), forKey: .secret)
        }
    }

    /// The key senders use.
    public var current: String
    /// Every key receivers accept.
    public var keys: [Key]

    /// The most keys a keyring holds (rotation needs two).
    public static let maxKeys = 8
    /// Accepted secret lengths in bytes.
    public static let secretLengths = 16...64

    public init(current: String, keys: [Key]) {
        self.current = current
        self.keys = keys
    }

    /// A keyring with one fresh random 32-byte key named `id`.
    public static func generate(id: String = "k1") -> ClusterKeyring {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return ClusterKeyring(current: id, keys: [Key(id: id, secret: secret)])
    }

    /// The key named `id`.
    public func key(_ id: String) -> Key? { keys.first { $0.id == id } }

    /// The sending key.
    public var currentKey: Key? { key(current) }

    /// Parses and validates `keys.json` (untrusted input: never traps).
    public static func parse(_ data: Data) -> Result<ClusterKeyring, WireError> {
        guard data.count <= 16 * 1024 else { return .failure(WireError(.oversized, "keys file of \(data.count) bytes")) }
        guard let ring = try? JSONDecoder().decode(ClusterKeyring.self, from: data) else {
            return .failure(WireError(.malformed, "keys file is not {\"current\", \"keys\": [{\"id\", \"secret\"}]}"))
        }
        guard !ring.keys.isEmpty, ring.keys.count <= maxKeys else {
            return .failure(WireError(.malformed, "keys file holds \(ring.keys.count) keys (1…\(maxKeys))"))
        }
        guard Set(ring.keys.map(\.id)).count == ring.keys.count,
              ring.keys.allSatisfy({ !$0.id.isEmpty && $0.id.count <= 32 && secretLengths.contains($0.secret.count) }) else {
            return .failure(WireError(.malformed, "keys need unique ids of 1…32 characters and \(secretLengths) byte secrets"))
        }
        guard ring.currentKey != nil else { return .failure(WireError(.malformed, "current key \(ring.current) is not listed")) }
        return .success(ring)
    }

    /// The file's bytes (sorted keys).
    public func serialized() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func bytes(fromHex hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0, chars.count <= 256 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
