import HACore

/// `timeline.html` (DESIGN §8): one self-contained page that shows what happened in a run and
/// what the oracle says should have happened.
///
/// An HA engineer reads a run the way the oracle's timelines (§4) are written: who was master,
/// when a host was seen unreachable, dead or isolated, when VMs stopped and where they came back,
/// and whether each of those moments fell inside its documented window. The page shows:
/// - a header (scenario, backend, time scale, seed, profile, verdict) and the failed checks;
/// - an overview of the whole run and a zoomed panel around each fault (``TimelineSVG``): one
///   lane per host with its role, its state as the master saw it, and its VM instances as bars
///   coloured by end reason; fault bands; documented windows as brackets next to the observed
///   instants; markers for elections, isolation, isolation responses and restarts; two live
///   instances of one VM (split-brain) outlined in red;
/// - the checks table, failed checks in red and linked both ways to their marker
///   (`#check-INV-…`) at the finding's time.
///
/// The page is static: inline SVG and CSS, tooltips as SVG `<title>`, no script and no network
/// reference, so it opens from a CI artefact store or a mail attachment. Pure: no clock.
public enum TimelineHTML {
    /// Most zoomed panels drawn after the overview.
    static let detailLimit = 4

    /// The page for one judged run.
    /// - Parameters:
    ///   - history: the run.
    ///   - checks: the checker's verdicts on it.
    /// - Returns: a complete HTML document.
    public static func html(history: History, checks: [CheckResult]) -> String {
        let model = TimelineModel(history: history, checks: checks)
        let verdict = CheckResult.verdict(of: checks)
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<title>\(Markup.text(history.scenario)) — \(verdict.rawValue) — HAChaos timeline</title>\n"
        page += "<style>\n\(css)</style>\n</head>\n<body>\n"
        // Shared SVG definitions (the split-brain hatch), referenced by every panel.
        page += "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs><pattern id=\"split-hatch\" width=\"6\" height=\"6\" "
            + "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fee2e2\"/>"
            + "<rect width=\"3\" height=\"6\" fill=\"#dc2626\"/></pattern></defs></svg>\n"
        page += header(history, checks: checks, verdict: verdict, model: model)
        page += legend()
        page += "<section class=\"panel\"><h2>Whole run <small>0 – \(formatSeconds(model.end.rounded(.up))) model s</small></h2>\n"
        page += TimelineSVG(model: model, from: 0, to: model.end, anchors: true, t0: nil).render()
        page += "</section>\n"
        for detail in detailRanges(model) {
            page += "<section class=\"panel\"><h2>\(Markup.text(detail.title)) <small>model \(formatSeconds(detail.from)) – \(formatSeconds(detail.to)) s; second axis row: seconds after T0</small></h2>\n"
            page += TimelineSVG(model: model, from: detail.from, to: detail.to, anchors: false, t0: detail.t0, compact: true).render()
            page += "</section>\n"
        }
        page += checksTable(checks, model: model, timeScale: history.timeScale)
        page += "</body>\n</html>\n"
        return page
    }

    // MARK: - Header

    static func header(_ history: History, checks: [CheckResult], verdict: Verdict, model: TimelineModel) -> String {
        let failed = checks.filter { $0.passed == false }
        let inconclusive = checks.filter { $0.passed == nil }
        let passed = checks.count - failed.count - inconclusive.count
        let profile = history.settings.profile == .v50 ? "5.0" : "5.1"
        var out = "<header>\n<h1>\(Markup.text(history.scenario)) <span class=\"verdict v-\(verdict.rawValue)\">\(verdict.rawValue.uppercased())</span></h1>\n"
        let facts: [(String, String)] = [
            ("backend", history.backend), ("time scale", formatSeconds(history.timeScale)), ("seed", history.seed.map { String($0) } ?? "—"),
            ("profile", profile), ("run length", "\(formatSeconds((model.end * 10).rounded() / 10)) model s"),
            ("hosts", String(history.cluster.hosts.count)), ("VMs", String(history.cluster.vms.count)),
            ("checks", "\(passed) passed, \(failed.count) failed, \(inconclusive.count) inconclusive"),
        ]
        out += "<dl class=\"facts\">" + facts.map { "<div><dt>\(Markup.text($0.0))</dt><dd>\(Markup.text($0.1))</dd></div>" }.joined() + "</dl>\n"
        if !failed.isEmpty {
            out += "<ul class=\"failures\">\n"
            for check in failed {
                let anchor = TimelineModel.anchor(check.id)
                let target = model.checkMarks.contains { $0.anchor == anchor } ? anchor : "row-\(anchor)"
                out += "<li><a href=\"#\(target)\">\(Markup.text(check.id))</a> \(Markup.text(check.name)): \(Markup.text(Markup.truncated(check.observed, limit: 300)))</li>\n"
            }
            out += "</ul>\n"
        }
        for split in model.splitBrains.prefix(20) {
            out += "<p class=\"split-note\">Split-brain: \(Markup.text(split.vm.rawValue)) live on \(Markup.text(split.hosts.map(\.rawValue).joined(separator: " and "))) "
                + "from model \(fmt(split.from)) s to \(fmt(split.to)) s (red outline in the lanes).</p>\n"
        }
        return out + "</header>\n"
    }

    static func legend() -> String {
        func swatch(_ cls: String, _ text: String) -> String { "<span><i class=\"sw \(cls)\"></i>\(Markup.text(text))</span>" }
        var out = "<div class=\"legend\">\n<div><b>role</b>"
        out += [("role-master", "master"), ("role-slave", "slave"), ("role-election", "election"), ("role-none", "none"), ("role-off", "powered off")].map(swatch).joined()
        out += "</div>\n<div><b>state (master's view)</b>"
        out += HostState.allCases.map { swatch("state-\($0.rawValue)", $0.rawValue) }.joined()
        out += "</div>\n<div><b>VM instance, by end</b>"
        out += VMEndReason.allCases.map { swatch("end-\(Markup.identifier($0.rawValue))", $0.rawValue) }.joined()
        out += swatch("split", "split-brain (two live instances)")
        out += "</div>\n<div><b>events</b>"
        for kind in TimelineModel.MarkerKind.allCases {
            out += "<span><svg class=\"glyph marker m-\(kind.rawValue)\" viewBox=\"0 0 14 14\" width=\"14\" height=\"14\">\(TimelineSVG.glyph(kind, x: 7, y: 7))</svg>\(Markup.text(kind.title))</span>"
        }
        out += "</div>\n<div><b>timing</b><span><i class=\"sw fault-sw\"></i>fault (injected → healed)</span>"
        out += "<span><svg class=\"glyph window\" viewBox=\"0 0 30 14\" width=\"30\" height=\"14\"><path d=\"M3 2v10M3 7H27M27 2v10\"/><circle class=\"in\" cx=\"12\" cy=\"7\" r=\"4\"/></svg>documented window, observed inside</span>"
        out += "<span><svg class=\"glyph window\" viewBox=\"0 0 30 14\" width=\"30\" height=\"14\"><path d=\"M3 2v10M3 7H18M18 2v10\"/><circle class=\"out\" cx=\"25\" cy=\"7\" r=\"4\"/></svg>observed outside</span>"
        out += "<span><i class=\"sw failed-sw\"></i>failed check at its finding</span></div>\n</div>\n"
        return out
    }

    // MARK: - Detail panels

    /// Zoomed ranges around the faults: from 10 s before T0 to past the last documented window
    /// (at least T0 + 60 s); close faults share a panel. Ranges covering most of the run are
    /// left to the overview.
    static func detailRanges(_ model: TimelineModel) -> [(from: Double, to: Double, t0: Double, title: String)] {
        var anchors = model.faults.map { (t0: $0.from, label: $0.label) }
        for w in model.windows where !anchors.contains(where: { abs($0.t0 - w.t0) < 1e-6 }) {
            // Windows that run from a heal (partition merge, split-brain resolution).
            let healed = model.faults.filter { f in f.to.map { abs($0 - w.t0) < 1e-6 } ?? false }.map { "\($0.label) healed" }
            anchors.append((w.t0, healed.first ?? "storage and network back"))
        }
        anchors.sort { $0.t0 < $1.t0 }
        var ranges: [(from: Double, to: Double, t0: Double, labels: [String])] = []
        for anchor in anchors {
            let windowEnd = model.windows.filter { abs($0.t0 - anchor.t0) < 1e-6 }.map(\.to).max() ?? anchor.t0
            let from = max(0, anchor.t0 - 10)
            let to = min(model.end, max(anchor.t0 + 60, windowEnd + 12))
            if let last = ranges.last, from <= last.to {
                ranges[ranges.count - 1].to = max(last.to, to)
                if !ranges[ranges.count - 1].labels.contains(anchor.label) { ranges[ranges.count - 1].labels.append(anchor.label) }
            } else {
                ranges.append((from, to, anchor.t0, [anchor.label]))
            }
        }
        return ranges.filter { $0.to - $0.from < 0.6 * model.end }.prefix(detailLimit).map { r in
            let labels = r.labels.prefix(3).joined(separator: ", ") + (r.labels.count > 3 ? ", …" : "")
            return (r.from, r.to, r.t0, "Around T0 = model \(formatSeconds((r.t0 * 100).rounded() / 100)) s: \(labels)")
        }
    }

    // MARK: - Checks table

    static func checksTable(_ checks: [CheckResult], model: TimelineModel, timeScale: Double) -> String {
        var out = "<section class=\"checks\"><h2>Checks</h2>\n<table>\n<thead><tr><th>check</th><th>result</th><th>name</th><th>expected</th><th>observed</th><th>at (model s)</th></tr></thead>\n<tbody>\n"
        var seen = Set<String>()
        for check in checks {
            let anchor = TimelineModel.anchor(check.id)
            let rowID = seen.insert(anchor).inserted ? " id=\"row-\(anchor)\"" : ""
            let (cls, word) = check.passed.map { $0 ? ("pass", "PASS") : ("fail", "FAIL") } ?? ("inconclusive", "INCONCLUSIVE")
            let hasMarker = model.checkMarks.contains { $0.anchor == anchor && $0.passed == false }
            let idCell = hasMarker ? "<a href=\"#\(anchor)\">\(Markup.text(check.id))</a>" : Markup.text(check.id)
            let at = JUnitReport.modelTime(check.at, timeScale: timeScale) ?? "—"
            out += "<tr class=\"\(cls)\"\(rowID)><td class=\"id\">\(idCell)</td><td>\(word)</td><td>\(Markup.text(check.name))</td>"
            out += "<td>\(Markup.text(Markup.truncated(check.expected, limit: 2_000)))</td><td>\(Markup.text(Markup.truncated(check.observed, limit: 4_000)))</td><td class=\"num\">\(at)</td></tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }
}
