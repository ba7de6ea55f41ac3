import Foundation
import FuzzChecks

// MARK: - FuzzCorpus

/// The seed inputs and dictionaries of `Fuzz/` (the libFuzzer corpus), read from the package.
enum FuzzCorpus {
    /// `<package>/Fuzz`, found from this file (FuzzCorpus.swift → FuzzTests → Tests → package).
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz").path

    /// Every file of `Fuzz/corpus/<target>`, sorted by name.
    static func inputs(_ target: FuzzChecks.Target) -> [[UInt8]] {
        let path = "\(directory)/corpus/\(target.rawValue)"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { FileManager.default.contents(atPath: "\(path)/\($0)").map { [UInt8]($0) } }
    }

    /// The tokens of `Fuzz/dictionaries/<target>.dict` (libFuzzer's format: one `"…"` per line
    /// with `\\`, `\"` and `\xNN` escapes, optionally `name=` before it, `#` comments).
    static func dictionary(_ target: FuzzChecks.Target) -> [[UInt8]] {
        guard let text = try? String(contentsOfFile: "\(directory)/dictionaries/\(target.rawValue).dict", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line -> [UInt8]? in
            let line = line.drop { $0 == " " }
            guard !line.hasPrefix("#"), let open = line.firstIndex(of: "\""), let close = line.lastIndex(of: "\""), open < close else { return nil }
            return unescape(Array(line[line.index(after: open)..<close].utf8))
        }
    }

    private static func unescape(_ raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "\\"), i + 1 < raw.count {
                if raw[i + 1] == UInt8(ascii: "x"), i + 3 < raw.count, let byte = UInt8(String(decoding: raw[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) {
                    out.append(byte)
                    i += 4
                    continue
                }
                out.append(raw[i + 1])
                i += 2
                continue
            }
            out.append(raw[i])
            i += 1
        }
        return out
    }
}
