import HACore

/// What makes two failures "the same finding": the failed check's id plus its observation with
/// everything run-specific taken out (host, VM, instance and datastore names, numbers, times).
///
/// A nightly run of thousands of seeds that trips one bug a hundred times reports it once, with
/// a count, instead of a hundred times (chaos-anchors §D.10: "failures deduped by invariant and
/// signature").
public struct FindingSignature: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The check id (`INV-SB1`, `OUT-vmRunning-vm-03` → `OUT-vmRunning`).
    public var check: String
    /// The first failure clause of the observation, normalised (``normalise(_:)``).
    public var text: String

    /// The longest normalised text kept.
    public static let maxTextLength = 160

    /// The signature of a failed check.
    public init(_ result: CheckResult) {
        self.check = Self.checkFamily(result.id)
        self.text = Self.normalise(Self.firstClause(result.observed))
    }

    /// The signature of a failed check, refined from the run's history where the observation
    /// alone says too little: a VM down at the end (`OUT-vmRunning`) is told apart by how its
    /// last instance ended and the fault injected at that moment (a reboot, an isolation
    /// response, a crash), so different liveness bugs stay different findings.
    public init(_ result: CheckResult, history: History) {
        self.init(result)
        guard check == "OUT-vmRunning", result.observed.contains("no live instance") else { return }
        let vm = VMID(String(result.id.dropFirst("OUT-vmRunning-".count)))
        guard let last = history.vmInstances.filter({ $0.vm == vm }).max(by: { $0.start < $1.start }), let end = last.end else {
            text += " — never ran"
            return
        }
        text += " — last instance ended \(last.endReason.rawValue)"
        let cause = history.faults.filter { $0.injectedAt <= end + 1e-6 && $0.injectedAt >= end - 1 }.max { $0.injectedAt < $1.injectedAt }
        if let cause { text += " at \(cause.fault.kind)" }
    }

    /// A signature from its parts (decoding, tests).
    public init(check: String, text: String) {
        self.check = check
        self.text = text
    }

    /// A short stable id for folder names: 8 hex digits of FNV-1a over the signature.
    public var id: String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in description.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash & 0xFFFF_FFFF, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    public var description: String { "\(check): \(text)" }

    public static func < (a: FindingSignature, b: FindingSignature) -> Bool { (a.check, a.text) < (b.check, b.text) }

    /// The text up to the first `"; "` (checks join their observations with it).
    static func firstClause(_ text: String) -> String {
        var previous: Character?
        var end = text.endIndex
        for index in text.indices {
            if previous == ";", text[index] == " " {
                end = text.index(before: index)
                break
            }
            previous = text[index]
        }
        return String(text[..<end])
    }

    /// Outcome ids carry their VM (`OUT-vmRunning-vm-03`); the family is the outcome kind.
    static func checkFamily(_ id: String) -> String {
        guard id.hasPrefix("OUT-") else { return id }
        let parts = id.split(separator: "-", maxSplits: 2)
        return parts.count >= 2 ? parts[0] + "-" + parts[1] : id
    }

    /// Replaces names and numbers by placeholders: `vm-03#12 on host-2 at T+17.5 s` →
    /// `vm-*#* on host-* at T+# s`; collapses spaces; cuts to ``maxTextLength``.
    public static func normalise(_ text: String) -> String {
        var out = ""
        var chars = Array(text)
        var i = 0
        func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }
        while i < chars.count {
            let c = chars[i]
            // Named things: host-…, vm-…, ds-… followed by a name (digits, letters) → prefix-*.
            var matchedPrefix: String?
            for prefix in ["host-", "vm-", "ds-"] where out.last.map({ !$0.isLetter && !isDigit($0) }) ?? true {
                let p = Array(prefix)
                if i + p.count < chars.count, Array(chars[i..<(i + p.count)]) == p,
                   chars[i + p.count].isLetter || isDigit(chars[i + p.count]) {
                    matchedPrefix = prefix
                    break
                }
            }
            if let prefix = matchedPrefix {
                out += prefix + "*"
                i += prefix.count
                while i < chars.count, chars[i].isLetter || isDigit(chars[i]) || (chars[i] == "-" && i + 1 < chars.count && isDigit(chars[i + 1])) { i += 1 }
                continue
            }
            // Instance suffixes: #12, #host-2-1733000000123 → #*.
            if c == "#" {
                out += "#*"
                i += 1
                while i < chars.count, chars[i].isLetter || isDigit(chars[i]) || chars[i] == "-" { i += 1 }
                continue
            }
            // Numbers (with a fraction) → #.
            if isDigit(c) {
                out += "#"
                while i < chars.count, isDigit(chars[i]) || (chars[i] == "." && i + 1 < chars.count && isDigit(chars[i + 1])) { i += 1 }
                continue
            }
            if c.isWhitespace {
                if out.last != " " { out.append(" ") }
                i += 1
                continue
            }
            out.append(c)
            i += 1
        }
        chars = Array(out.trimmingWhitespace)
        if chars.count > maxTextLength { return String(chars.prefix(maxTextLength)) + "…" }
        return String(chars)
    }
}

extension String {
    /// Without leading and trailing spaces and newlines (no Foundation needed).
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
