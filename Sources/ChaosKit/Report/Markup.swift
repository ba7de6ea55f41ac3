import HACore

/// Escaping and number formatting shared by the XML and HTML reports (`junit.xml`, `timeline.html`).
///
/// Check texts come from agent evidence and scenario files, so they can hold anything: markup
/// characters, quotes, control characters. Everything that reaches a report goes through here.
/// Pure, no Foundation.
enum Markup {
    /// Whether a scalar may appear in an XML 1.0 document (production `Char`).
    ///
    /// Swift strings never hold lone surrogates, so only the C0 controls (other than tab,
    /// newline, carriage return) and U+FFFE / U+FFFF need removing.
    static func isXMLChar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: true
        case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// Text content: `&`, `<`, `>` escaped; characters illegal in XML 1.0 stripped.
    static func text(_ raw: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars where isXMLChar(scalar) {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// An attribute value (to go between double quotes): markup characters and both quotes
    /// escaped, tab / newline / carriage return kept as character references (attribute-value
    /// normalisation would otherwise turn them into spaces), illegal characters stripped.
    static func attribute(_ raw: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars where isXMLChar(scalar) {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&apos;".unicodeScalars)
            case "\t": out.append(contentsOf: "&#9;".unicodeScalars)
            case "\n": out.append(contentsOf: "&#10;".unicodeScalars)
            case "\r": out.append(contentsOf: "&#13;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// An HTML `id` / fragment made only of `[A-Za-z0-9_-]` (other characters become `-`).
    static func identifier(_ raw: String) -> String {
        String(raw.unicodeScalars.map { scalar -> Character in
            switch scalar.value {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x5F: Character(scalar)
            default: "-"
            }
        })
    }

    /// `raw` cut to at most `limit` characters (an ellipsis marks the cut).
    static func truncated(_ raw: String, limit: Int) -> String {
        raw.count <= limit ? raw : String(raw.prefix(max(0, limit - 1))) + "…"
    }

    /// A non-negative decimal without exponent, at most three decimals (`12.5`, `0`).
    ///
    /// JUnit schemas accept only digits and a point in `time`; NaN, infinities and negatives
    /// become 0.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0" }
        return formatSeconds(value)
    }

    /// A coordinate for SVG: at most one decimal, no exponent.
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int64((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = tenths < 0 ? -tenths : tenths
        return magnitude % 10 == 0 ? "\(sign)\(magnitude / 10)" : "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }
}

/// Orders ids like people read them: `host-2` before `host-10` (runs of digits compare as numbers).
func naturalOrder(_ a: String, _ b: String) -> Bool {
    func chunks(_ s: String) -> [(isNumber: Bool, text: String)] {
        var result: [(Bool, String)] = []
        for ch in s {
            let digit = ch.isASCII && ch.isNumber
            if let last = result.last, last.0 == digit {
                result[result.count - 1].1.append(ch)
            } else {
                result.append((digit, String(ch)))
            }
        }
        return result
    }
    let (ca, cb) = (chunks(a), chunks(b))
    for (x, y) in zip(ca, cb) where x.text != y.text {
        if x.isNumber, y.isNumber {
            let (tx, ty) = (x.text.drop { $0 == "0" }, y.text.drop { $0 == "0" })
            if tx.count != ty.count { return tx.count < ty.count }
            if tx != ty { return tx < ty }
            continue
        }
        return x.text < y.text
    }
    return ca.count != cb.count ? ca.count < cb.count : a < b
}
