import Foundation
import HACore

// MARK: - PowerOnFileFormat

/// The text format of a host's poweron file `<host>-poweron` (docs/NODES.md §3; oracle §3.1).
///
/// Line 1 is the isolation flag (`0` or `1`), then one VM id per line, each line ending in
/// `\n`. The value type is ``HACore/PowerOnFile``. VM ids MUST be safe path components
/// (``DatastoreFiles/isSafeComponent(_:)``) and contain no whitespace.
public enum PowerOnFileFormat {
    /// The file content.
    ///
    /// - Parameter file: The value.
    /// - Returns: `"<0|1>\n<vm>\n…"`.
    public static func serialize(_ file: PowerOnFile) -> String {
        var text = file.isolated ? "1\n" : "0\n"
        for vm in file.poweredOn {
            text += vm.rawValue
            text += "\n"
        }
        return text
    }

    /// Parses the file content.
    ///
    /// - Parameter text: The file content (untrusted). `\r\n` line ends and a missing final
    ///   newline are accepted.
    /// - Returns: The value.
    /// - Throws: ``DatastoreFileError`` on empty or oversized text, a flag other than `0`/`1`,
    ///   or an invalid VM id (including blank lines between ids).
    public static func parse(_ text: String) throws(DatastoreFileError) -> PowerOnFile {
        guard text.utf8.count <= DatastoreFiles.maxFileBytes else {
            throw DatastoreFileError(.tooLarge, "\(text.utf8.count) bytes")
        }
        guard !text.isEmpty else { throw DatastoreFileError(.empty, "poweron file") }
        // "\r\n" is one Character, so split on both separators.
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }
        guard let flag = lines.first else { throw DatastoreFileError(.empty, "poweron file") }
        let isolated: Bool
        switch flag {
        case "0": isolated = false
        case "1": isolated = true
        default: throw DatastoreFileError(.malformed, "isolation flag \(String(flag.prefix(40)).debugDescription)")
        }
        var vms: [VMID] = []
        vms.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() {
            let id = String(line)
            guard DatastoreFiles.isSafeComponent(id), !id.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
                throw DatastoreFileError(.invalidValue, "vm id \(String(id.prefix(40)).debugDescription)")
            }
            vms.append(VMID(id))
        }
        return PowerOnFile(isolated: isolated, poweredOn: vms)
    }

    /// Parses file bytes (which MUST be UTF-8).
    ///
    /// - Parameter data: The bytes read from the datastore (untrusted).
    /// - Returns: The value.
    /// - Throws: ``DatastoreFileError``; `malformed` when the bytes are not UTF-8.
    public static func parse(_ data: Data) throws(DatastoreFileError) -> PowerOnFile {
        guard data.count <= DatastoreFiles.maxFileBytes else { throw DatastoreFileError(.tooLarge, "\(data.count) bytes") }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw DatastoreFileError(.malformed, "not UTF-8")
        }
        return try parse(text)
    }
}
