import HACore

// MARK: - HTML

extension MatrixReport {
    /// The report as one self-contained HTML page: inline CSS, no script, nothing fetched from
    /// the network; the verdict cells are coloured (green matches, red differs, amber inconclusive).
    public func html() -> String {
        var out: [String] = [
            "<!DOCTYPE html>",
            "<html lang=\"en\">",
            "<head>",
            "<meta charset=\"utf-8\">",
            "<title>Isolation matrix — \(escapeHTML(topology)) on \(escapeHTML(backend))</title>",
            "<style>",
            Self.css,
            "</style>",
            "</head>",
            "<body>",
            "<h1>Isolation matrix <small>oracle §5.5 decision table</small></h1>",
            "<ul class=\"setup\">",
        ]
        out += setupLines.map { "<li>\(escapeHTML($0))</li>" }
        out += [
            "</ul>",
            "<table>",
            "<thead><tr><th>#</th><th>setting<br><small>response · storage · heartbeats</small></th>"
                + "<th>observed<br><small>the isolated host's protected VMs</small></th>"
                + "<th>predicted<br><small>documented behaviour</small></th><th>checks</th><th>verdict</th></tr></thead>",
            "<tbody>",
        ]
        for row in rows {
            let verdict = row.verdict.rawValue
            out.append(
                "<tr class=\"\(verdict)\"><td class=\"num\">\(escapeHTML(row.number))</td>"
                    + "<td>\(escapeHTML(row.setting))</td>"
                    + "<td>\(row.observed.map(escapeHTML).joined(separator: "<br>"))</td>"
                    + "<td>\(row.predicted.map(escapeHTML).joined(separator: "<br>"))</td>"
                    + "<td class=\"checks\">\(escapeHTML(row.checks))</td>"
                    + "<td class=\"verdict \(verdict)\">\(verdict)</td></tr>"
            )
        }
        out += ["</tbody>", "</table>", "<p class=\"tally\">\(escapeHTML(tally))</p>"]
        let problems = self.problems
        if !problems.isEmpty {
            out.append("<h2>Cells that do not match</h2>")
            out.append("<dl>")
            for p in problems {
                out.append("<dt>\(escapeHTML(p.cell))</dt>")
                out += p.lines.map { "<dd>\(escapeHTML($0))</dd>" }
            }
            out.append("</dl>")
        }
        out.append("<h2>Readings</h2>")
        out.append("<ul>")
        out += Self.readings.map { "<li>\(escapeHTML($0))</li>" }
        out += ["</ul>", "</body>", "</html>"]
        return out.joined(separator: "\n") + "\n"
    }

    /// The page's only style sheet.
    static let css = """
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #1d1d1f; background: #fff; }
    h1 small { font-weight: normal; color: #666; font-size: 60%; margin-left: .5em; }
    ul.setup { color: #444; }
    table { border-collapse: collapse; width: 100%; }
    th, td { border: 1px solid #d0d0d5; padding: .45em .6em; vertical-align: top; text-align: left; }
    th { background: #f3f3f6; }
    th small { font-weight: normal; color: #666; }
    td.num, td.checks { white-space: nowrap; }
    td.verdict { font-weight: bold; text-align: center; white-space: nowrap; }
    td.verdict.matches { background: #d8f5dd; color: #135c22; }
    td.verdict.differs { background: #fbd9d7; color: #8a1710; }
    td.verdict.inconclusive { background: #fdefc8; color: #7a5200; }
    tr.differs td { border-color: #e8a9a4; }
    p.tally { font-weight: bold; }
    dt { font-weight: bold; margin-top: .6em; }
    dd { margin-left: 1.5em; }
    """
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for HTML.
private func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
