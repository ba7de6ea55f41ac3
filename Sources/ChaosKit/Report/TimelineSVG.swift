import HACore

/// Draws one panel of `timeline.html`: a ``TimelineModel`` over a time range, as inline SVG.
///
/// From top to bottom: the model-seconds axis, the fault bands' labels, the documented windows
/// (brackets with the observed instant as a dot: green inside, red outside), the checks' findings,
/// then one lane per host (role strip, master's-view strip, one row per VM). Fault bands are
/// shaded through every lane; failed checks are red lines through every lane. Tooltips are SVG
/// `<title>` elements, so the page needs no script.
struct TimelineSVG {
    let model: TimelineModel
    /// Model seconds shown.
    let from: Double
    let to: Double
    /// Whether this panel carries the check anchors (`id="check-…"`); only one panel may.
    let anchors: Bool
    /// T0 for a second row of axis labels (`T+10`), in detail panels.
    let t0: Double?
    /// Whether to leave out VM rows in which nothing starts, ends or happens within the range
    /// (detail panels: the eye goes to what changed).
    var compact = false

    // MARK: Layout (SVG user units)

    static let width = 1500.0
    static let gutter = 150.0
    static let rightMargin = 28.0
    static let rowHeight = 17.0
    static let roleHeight = 14.0
    static let stateHeight = 10.0
    static let vmRowHeight = 14.0
    static let laneGap = 8.0
    /// Average glyph width of the 11-unit sans-serif font, for label packing.
    static let charWidth = 6.1

    var plotLeft: Double { Self.gutter }
    var plotRight: Double { Self.width - Self.rightMargin }

    /// The x coordinate of model time `t`, clamped to the plot.
    func x(_ t: Double) -> Double {
        let span = max(to - from, 1e-9)
        let raw = plotLeft + (t - from) / span * (plotRight - plotLeft)
        return min(max(raw, plotLeft), plotRight)
    }

    func visible(_ a: Double, _ b: Double) -> Bool { b >= from && a <= to }

    static func textWidth(_ s: String) -> Double { Double(s.count) * charWidth + 8 }

    /// Width of a bold label (check ids).
    static func boldWidth(_ s: String) -> Double { Double(s.count) * 7.0 + 8 }

    /// Packs horizontal extents into the fewest rows (first fit, in order).
    static func pack(_ extents: [(Double, Double)]) -> [Int] {
        var rowEnds: [Double] = []
        return extents.map { extent in
            if let row = rowEnds.firstIndex(where: { $0 + 4 <= extent.0 }) {
                rowEnds[row] = extent.1
                return row
            }
            rowEnds.append(extent.1)
            return rowEnds.count - 1
        }
    }

    // MARK: - Rendering

    func render() -> String {
        let c = { Markup.coordinate($0) }
        var body = ""
        var y = 24.0
        let bandTop = y

        // Fault labels (packed rows).
        let faults = model.faults.filter { visible($0.from, $0.to ?? model.end) }
        let faultExtents = faults.map { f -> (Double, Double) in
            let x0 = x(f.from)
            return (x0, max(x(f.to ?? model.end), x0 + Self.textWidth(f.label)))
        }
        let faultRows = Self.pack(faultExtents)
        let faultRowCount = (faultRows.max() ?? -1) + 1
        for (i, f) in faults.enumerated() {
            let top = y + Double(faultRows[i]) * Self.rowHeight
            let x0 = x(f.from)
            let w = max(x(f.to ?? model.end) - x0, 2)
            body += "<g class=\"fault\"><title>\(Markup.text(f.tip))</title>"
            body += "<rect x=\"\(c(x0))\" y=\"\(c(top))\" width=\"\(c(w))\" height=\"\(c(Self.rowHeight - 3))\" rx=\"2\"/>"
            body += "<text x=\"\(c(x0 + 3))\" y=\"\(c(top + 11))\">\(Markup.text(f.label))</text></g>\n"
        }
        if faultRowCount > 0 { body += "<text class=\"row-title\" x=\"8\" y=\"\(c(y + 11))\">faults</text>" }
        y += Double(faultRowCount) * Self.rowHeight

        // Documented windows (packed rows: bracket plus its label).
        let windows = model.windows.filter { visible($0.from, $0.to) }
        // Label right of the bracket, else left of it, else over the bracket line (with a halo).
        var windowLabels: [(x: Double, anchorEnd: Bool)] = []
        let windowExtents = windows.map { w -> (Double, Double) in
            let (x0, x1) = (x(w.from), x(w.to))
            let label = Self.textWidth(w.label + " · observed T+100.0 ✗ outside") + 10
            if x1 + label <= plotRight {
                windowLabels.append((x1 + 12, false))
                return (x0, x1 + label)
            }
            if x0 - label >= plotLeft {
                windowLabels.append((x0 - 12, true))
                return (x0 - label, x1)
            }
            windowLabels.append((x0 + 12, false))
            return (x0, max(x1, x0 + label))
        }
        let windowRows = Self.pack(windowExtents)
        if !windows.isEmpty { body += "<text class=\"row-title\" x=\"8\" y=\"\(c(y + 12))\">oracle windows</text>" }
        for (i, w) in windows.enumerated() {
            let mid = y + Double(windowRows[i]) * Self.rowHeight + 8
            let (x0, x1) = (x(w.from), x(w.to))
            body += "<g class=\"window\"><title>\(Markup.text(w.tip))</title>"
            body += "<path d=\"M\(c(x0)) \(c(mid - 5))v10M\(c(x0)) \(c(mid))H\(c(max(x1, x0 + 1)))M\(c(max(x1, x0 + 1))) \(c(mid - 5))v10\"/>"
            if let seen = w.observed, seen >= from, seen <= to {
                body += "<circle class=\"\(w.inside == true ? "in" : "out")\" cx=\"\(c(x(seen)))\" cy=\"\(c(mid))\" r=\"4\"/>"
            }
            let mark = w.observed.map { " · observed T+\(formatSeconds((($0 - w.t0) * 10).rounded() / 10))" + (w.inside == true ? " ✓" : " ✗ outside") } ?? " · not observed"
            let label = windowLabels[i]
            body += "<text x=\"\(c(label.x))\" y=\"\(c(mid + 4))\"\(label.anchorEnd ? " text-anchor=\"end\"" : "")>\(Markup.text(w.label + mark))</text></g>\n"
        }
        y += Double((windowRows.max() ?? -1) + 1) * Self.rowHeight

        // Check findings (packed rows of labels).
        let marks = model.checkMarks.filter { $0.time >= from && $0.time <= to }.sorted { $0.time < $1.time }
        let failed = marks.filter { $0.passed == false }
        let checkRows = Self.pack(failed.map { (x($0.time), x($0.time) + Self.boldWidth($0.id)) })
        let checkTop = y
        if !marks.isEmpty { body += "<text class=\"row-title\" x=\"8\" y=\"\(c(y + 12))\">check findings</text>" }
        y += max(Double((checkRows.max() ?? -1) + 1), 1) * Self.rowHeight

        // Lanes.
        let lanesTop = y + 4
        var lanes = ""
        var laneY = lanesTop
        for (index, lane) in model.lanes.enumerated() {
            let rows = compact ? activeVMs(lane) : lane.vms
            let height = Self.roleHeight + Self.stateHeight + 4 + Double(rows.count) * Self.vmRowHeight + Self.laneGap
            lanes += renderLane(lane, rows: rows, top: laneY, height: height, shaded: index % 2 == 1)
            laneY += height
        }
        let lanesBottom = laneY

        // Background: grid, fault bands, then lanes, then check lines on top.
        var out = ""
        let ticks = Self.ticks(from: from, to: to)
        for t in ticks {
            out += "<line class=\"grid\" x1=\"\(c(x(t)))\" x2=\"\(c(x(t)))\" y1=\"\(c(bandTop))\" y2=\"\(c(lanesBottom))\"/>"
            out += "<text class=\"tick\" x=\"\(c(x(t)))\" y=\"14\">\(formatSeconds(t))</text>"
            out += "<text class=\"tick\" x=\"\(c(x(t)))\" y=\"\(c(lanesBottom + 14))\">\(formatSeconds(t))</text>"
            if let t0 {
                let d = t - t0
                out += "<text class=\"tick rel\" x=\"\(c(x(t)))\" y=\"\(c(lanesBottom + 28))\">\(d < 0 ? "T−\(formatSeconds(-d))" : "T+\(formatSeconds(d))")</text>"
            }
        }
        out += "<text class=\"axis-title\" x=\"8\" y=\"14\">model s</text>"
        for f in faults {
            let x0 = x(f.from)
            if f.instantaneous {
                out += "<line class=\"fault-line\" x1=\"\(c(x0))\" x2=\"\(c(x0))\" y1=\"\(c(bandTop))\" y2=\"\(c(lanesBottom))\"/>"
            } else {
                out += "<rect class=\"fault-band\" x=\"\(c(x0))\" y=\"\(c(bandTop))\" width=\"\(c(max(x(f.to ?? model.end) - x0, 1)))\" height=\"\(c(lanesBottom - bandTop))\"/>"
            }
        }
        out += "\n" + body + lanes
        out += checkMarks(marks, failed: failed, rows: checkRows, top: checkTop, bottom: lanesBottom)
        let height = lanesBottom + (t0 == nil ? 22 : 36)
        return "<svg class=\"timeline\" viewBox=\"0 0 \(c(Self.width)) \(c(height))\" "
            + "width=\"\(c(Self.width))\" height=\"\(c(height))\" role=\"img\">\n\(out)</svg>\n"
    }

    // MARK: - Lanes

    /// The VMs of `lane` with a bar edge, a split-brain overlap or a marker inside the range.
    func activeVMs(_ lane: TimelineModel.Lane) -> [VMID] {
        func inside(_ t: Double) -> Bool { t > from && t < to }
        return lane.vms.filter { vm in
            lane.bars.contains { $0.vm == vm && (inside($0.from) || (!$0.open && inside($0.to)) || $0.overlaps.contains { visible($0.from, $0.to) }) }
                || lane.markers.contains { $0.vm == vm && $0.time >= from && $0.time <= to }
        }
    }

    func renderLane(_ lane: TimelineModel.Lane, rows: [VMID], top: Double, height: Double, shaded: Bool) -> String {
        let c = { Markup.coordinate($0) }
        var out = "<g class=\"lane\" data-host=\"\(Markup.attribute(lane.host.rawValue))\">"
        if shaded { out += "<rect class=\"lane-bg\" x=\"0\" y=\"\(c(top - 2))\" width=\"\(c(Self.width))\" height=\"\(c(height))\"/>" }
        out += "<text class=\"host\" x=\"8\" y=\"\(c(top + 11))\">\(Markup.text(lane.host.rawValue))</text>"
        let roleMarkers = lane.markers.filter { $0.vm == nil && $0.time >= from && $0.time <= to }.map { x($0.time) }
        for s in lane.roles where visible(s.from, s.to) {
            out += "<rect class=\"role-\(s.style)\" x=\"\(c(x(s.from)))\" y=\"\(c(top))\" width=\"\(c(max(x(s.to) - x(s.from), 0.8)))\" height=\"\(c(Self.roleHeight))\"><title>\(Markup.text(s.tip))</title></rect>"
            let label = s.style == "off" ? "powered off" : s.style
            let width = Self.textWidth(label)
            if s.style == "master" || s.style == "election" || s.style == "off" {
                // At the start, else centred, never under a marker of the role strip.
                let starts = [x(s.from) + 9, (x(s.from) + x(s.to) - width) / 2]
                if let start = starts.first(where: { lx in
                    lx >= x(s.from) && lx + width <= x(s.to) && !roleMarkers.contains { $0 > lx - 6 && $0 < lx + width + 2 }
                }) {
                    out += "<text class=\"role-label\" x=\"\(c(start))\" y=\"\(c(top + 10.5))\">\(label)</text>"
                }
            }
        }
        let stateTop = top + Self.roleHeight + 1
        for s in lane.states where visible(s.from, s.to) {
            let w = x(s.to) - x(s.from)
            out += "<g class=\"state state-\(s.style)\"><title>\(Markup.text(s.tip))</title>"
            out += "<rect x=\"\(c(x(s.from)))\" y=\"\(c(stateTop))\" width=\"\(c(max(w, 0.8)))\" height=\"\(c(Self.stateHeight))\"/>"
            if let label = [s.label, s.style].compactMap({ $0 }).first(where: { Self.textWidth($0) * 0.8 <= w - 4 }) {
                out += "<text x=\"\(c(x(s.from) + 3))\" y=\"\(c(stateTop + 8))\">\(Markup.text(label))</text>"
            }
            out += "</g>"
        }
        let rowsTop = stateTop + Self.stateHeight + 3
        func rowMid(_ row: Int) -> Double { rowsTop + Double(row) * Self.vmRowHeight + Self.vmRowHeight / 2 }
        if rows.count < lane.vms.count {
            out += "<text class=\"vm hidden-note\" x=\"8\" y=\"\(c(stateTop + 8))\">+\(lane.vms.count - rows.count) VM(s) unchanged</text>"
        }
        for (row, vm) in rows.enumerated() {
            out += "<text class=\"vm\" x=\"22\" y=\"\(c(rowMid(row) + 4))\">\(Markup.text(vm.rawValue))</text>"
        }
        for bar in lane.bars where visible(bar.from, bar.to) {
            guard let row = rows.firstIndex(of: bar.vm) else { continue }
            let (x0, x1) = (x(bar.from), x(bar.to))
            let w = max(x1 - x0, 1)
            let top = rowMid(row) - 5
            let split = bar.overlaps.isEmpty ? "" : " split"
            out += "<g class=\"bar end-\(Markup.identifier(bar.endReason.rawValue))\(split)\"><title>\(Markup.text(bar.tip))</title>"
            out += "<rect x=\"\(c(x0))\" y=\"\(c(top))\" width=\"\(c(w))\" height=\"10\" rx=\"2\"/>"
            for o in bar.overlaps where visible(o.from, o.to) {
                out += "<rect class=\"overlap\" x=\"\(c(x(o.from)))\" y=\"\(c(top - 1))\" width=\"\(c(max(x(o.to) - x(o.from), 1)))\" height=\"12\"><title>\(Markup.text(o.tip))</title></rect>"
            }
            let ending = bar.open ? "" : " → \(bar.endReason.rawValue)"
            let candidates = ["\(bar.vm)\(bar.startedByHA ? " (HA restart)" : "")\(ending)", "\(bar.vm)\(ending)", bar.vm.rawValue]
            if let label = candidates.first(where: { Self.textWidth($0) <= w }) {
                out += "<text x=\"\(c(x0 + 4))\" y=\"\(c(top + 8.5))\">\(Markup.text(label))</text>"
            }
            out += "</g>"
        }
        for marker in lane.markers where marker.time >= from && marker.time <= to {
            let cy: Double
            if let vm = marker.vm {
                guard let row = rows.firstIndex(of: vm) else { continue }
                cy = rowMid(row)
            } else {
                cy = top + Self.roleHeight / 2
            }
            out += "<g class=\"marker m-\(marker.kind.rawValue)\"><title>\(Markup.text(marker.tip))</title>\(Self.glyph(marker.kind, x: x(marker.time), y: cy))</g>"
        }
        return out + "</g>\n"
    }

    /// The marker glyph of `kind` centred on (x, y); shapes, not font glyphs, so they render everywhere.
    static func glyph(_ kind: TimelineModel.MarkerKind, x: Double, y: Double) -> String {
        let c = { Markup.coordinate($0) }
        let (px, py) = (c(x), c(y))
        switch kind {
        case .electionStarted: return "<circle cx=\"\(px)\" cy=\"\(py)\" r=\"4\"/>"
        case .electionWon: return "<path d=\"M\(px) \(c(y - 6))L\(c(x + 5)) \(py)L\(px) \(c(y + 6))L\(c(x - 5)) \(py)Z\"/>"
        case .isolationDeclared: return "<path d=\"M\(c(x - 5)) \(c(y - 5))H\(c(x + 5))L\(px) \(c(y + 5))Z\"/>"
        case .isolationCleared: return "<path d=\"M\(c(x - 5)) \(c(y + 5))H\(c(x + 5))L\(px) \(c(y - 5))Z\"/>"
        case .responseApplied, .responseDeferred: return "<rect x=\"\(c(x - 4))\" y=\"\(c(y - 4))\" width=\"8\" height=\"8\"/>"
        case .restartIssued: return "<path d=\"M\(c(x - 4)) \(c(y - 5))L\(c(x + 5)) \(py)L\(c(x - 4)) \(c(y + 5))Z\"/>"
        case .restartFailed: return "<path d=\"M\(c(x - 4)) \(c(y - 4))L\(c(x + 4)) \(c(y + 4))M\(c(x + 4)) \(c(y - 4))L\(c(x - 4)) \(c(y + 4))\"/>"
        }
    }

    // MARK: - Checks and axis

    /// Findings: every check's instant as a small dot; failed checks also as a red line through
    /// the lanes with their id, linked to their row in the checks table.
    func checkMarks(_ marks: [TimelineModel.CheckMark], failed: [TimelineModel.CheckMark], rows: [Int], top: Double, bottom: Double) -> String {
        let c = { Markup.coordinate($0) }
        var out = ""
        for mark in marks where mark.passed != false {
            let style = mark.passed == true ? "ok" : "unknown"
            out += "<circle class=\"finding \(style)\" cx=\"\(c(x(mark.time)))\" cy=\"\(c(top + 8))\" r=\"3\"><title>\(Markup.text(mark.tip))</title></circle>"
        }
        var anchored = Set<String>()
        for (i, mark) in failed.enumerated() {
            let px = x(mark.time)
            let labelTop = top + Double(rows[i]) * Self.rowHeight
            let id = anchors && anchored.insert(mark.anchor).inserted ? " id=\"\(mark.anchor)\"" : ""
            out += "<a href=\"#row-\(mark.anchor)\"><g class=\"failed-check\"\(id)><title>\(Markup.text(mark.tip))</title>"
            out += "<line x1=\"\(c(px))\" x2=\"\(c(px))\" y1=\"\(c(labelTop))\" y2=\"\(c(bottom))\"/>"
            out += "<rect x=\"\(c(px))\" y=\"\(c(labelTop + 1))\" width=\"\(c(Self.boldWidth(mark.id)))\" height=\"14\" rx=\"2\"/>"
            out += "<text x=\"\(c(px + 4))\" y=\"\(c(labelTop + 12))\">\(Markup.text(mark.id))</text></g></a>\n"
        }
        return out
    }

    /// Round tick positions (1, 2 or 5 × 10ⁿ apart), about a dozen across the range.
    static func ticks(from: Double, to: Double) -> [Double] {
        let span = max(to - from, 1e-6)
        let raw = span / 12
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10
        var t = (from / step).rounded(.up) * step
        var out: [Double] = []
        while t <= to + 1e-9, out.count < 40 {
            out.append(t)
            t += step
        }
        return out
    }
}
