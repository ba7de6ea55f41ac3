import Foundation

// MARK: - JSONLineCodable

/// A value that travels as one JSON object on one line (docs/NODES.md §5, §6).
///
/// Conformers get ``encodeLine()`` and ``decode(line:)``; they MAY override ``validate()`` to
/// reject values that decode but break the contract. Output keys are sorted, so encoding is
/// deterministic.
public protocol JSONLineCodable: Codable, Sendable {
    /// Checks constraints the JSON shape cannot express; called after decoding and before encoding.
    ///
    /// - Throws: ``JSONLineError`` with code `invalidValue`.
    func validate() throws(JSONLineError)
}

/// The longest JSON line accepted by default (64 KiB).
public let jsonLineMaxBytes = 64 * 1024

extension JSONLineCodable {
    /// No extra constraints.
    public func validate() throws(JSONLineError) {}

    /// Encodes the value as one JSON line ending in `\n`.
    ///
    /// - Returns: The line's bytes, newline included.
    /// - Throws: ``JSONLineError`` (`invalidValue` from ``validate()``, `unencodable`, or
    ///   `lineTooLong` when the line would exceed ``jsonLineMaxBytes``).
    public func encodeLine() throws(JSONLineError) -> [UInt8] {
        try validate()
        var bytes: [UInt8]
        do {
            bytes = [UInt8](try WireCodec.makeEncoder().encode(self))
        } catch {
            throw JSONLineError(.unencodable, "\(Self.self): \(error)")
        }
        guard bytes.count < jsonLineMaxBytes else { throw JSONLineError(.lineTooLong, "\(Self.self): \(bytes.count) bytes") }
        bytes.append(0x0A)
        return bytes
    }

    /// Decodes one line (with or without its trailing newline).
    ///
    /// - Parameter line: The line's bytes (untrusted).
    /// - Returns: The value.
    /// - Throws: ``JSONLineError`` (`lineTooLong`, `malformed` or `invalidValue`).
    public static func decode(line: some Sequence<UInt8>) throws(JSONLineError) -> Self {
        let data = Data(line)
        guard data.count <= jsonLineMaxBytes else { throw JSONLineError(.lineTooLong, "\(Self.self): \(data.count) bytes") }
        let value: Self
        do {
            value = try JSONDecoder().decode(Self.self, from: data)
        } catch {
            throw JSONLineError(.malformed, "\(Self.self): \(WireCodec.summary(of: error))")
        }
        try value.validate()
        return value
    }
}
