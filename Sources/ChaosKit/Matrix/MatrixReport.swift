import Foundation
import HACore

/// The isolation matrix's table: per cell, what happened to the isolated host's protected VMs
/// next to what the documented behaviour predicts, with a verdict. Rendered as markdown
/// (``markdown()``) and as a self-contained HTML page (``html()``).
public struct MatrixReport: Hashable, Sendable, Codable {
    /// The topology's name (the scenario file it came from, or `default`).
    public var topology: String
    /// `sim` or `netns`.
    public var backend: String
    /// The time scale the cells ran at.
    public var timeScale: Double
    /// The simulator seed.
    public var seed: UInt64
    /// Rules broken on purpose (`--bug`).
    public var bugs: [String]
    /// The master at the start, by the election rule.
    public var expectedMaster: HostID
    /// The isolated slave.
    public var isolatedHost: HostID
    /// Its protected VMs, whose fate the table reports.
    public var subjects: [VMID]
    /// Datastores an isolation keeps (VMFS).
    public var keptDatastores: [DatastoreID]
    /// Datastores an isolation with a converged network takes (NFS/iSCSI).
    public var lostDatastores: [DatastoreID]
    /// What was added to the topology.
    public var adjustments: [String]
    /// The judged cells, in table order.
    public var results: [MatrixCellResult]

    /// A report of `results`, run on `matrix` with these options.
    public init(matrix: IsolationMatrix, backend: String, timeScale: Double, seed: UInt64, bugs: [String] = [], results: [MatrixCellResult]) {
        topology = matrix.topology.name
        self.backend = backend
        self.timeScale = timeScale
        self.seed = seed
        self.bugs = bugs
        expectedMaster = matrix.expectedMaster
        isolatedHost = matrix.isolatedHost
        subjects = matrix.subjects
        keptDatastores = matrix.keptDatastores
        lostDatastores = matrix.lostDatastores
        adjustments = matrix.adjustments
        self.results = results
    }

    /// Jepsen's exit code: 0 every cell matches, 1 a cell differs, 2 a cell is inconclusive.
    public var exitCode: Int32 {
        if results.contains(where: { $0.verdict == .differs }) { return 1 }
        if results.isEmpty || results.contains(where: { $0.verdict == .inconclusive }) { return 2 }
        return 0
    }

    /// `14 cells: 14 match, 0 differ, 0 inconclusive`.
    public var tally: String {
        let count = { (v: MatrixVerdict) in results.filter { $0.verdict == v }.count }
        return "\(results.count) cells: \(count(.matches)) match, \(count(.differs)) differ, \(count(.inconclusive)) inconclusive"
    }

    // MARK: - Rows (shared by both renderers)

    /// One table row as plain text cells.
    struct Row {
        var number: String
        var setting: String
        var observed: [String]
        var predicted: [String]
        var checks: String
        var verdict: MatrixVerdict
    }

    var rows: [Row] {
        results.map { r in
            let predicted = uniqued(r.vms.map { "\($0.prediction.summary) (\($0.prediction.reference))" })
            let observed = r.error.map { ["run failed: \($0)"] } ?? r.vms.map(\.observation.summary)
            let checks = r.checkerVerdict == nil ? "—" : "\(r.checksPassed)/\(r.checksTotal) \(r.checkerVerdict?.rawValue ?? "")"
            return Row(number: r.cell.row.map(String.init) ?? "all", setting: r.cell.settingText, observed: observed,
                       predicted: predicted, checks: checks, verdict: r.verdict)
        }
    }

    /// The setup in sentences (both renderers).
    var setupLines: [String] {
        var lines = [
            "topology \(topology); backend \(backend), time scale \(formatSeconds(timeScale)), seed \(seed)"
                + (bugs.isEmpty ? "" : ", bugs \(bugs.joined(separator: ", "))"),
            "\(isolatedHost) (a slave; expected master \(expectedMaster)) isolated at T0 = \(formatSeconds(IsolationMatrix.faultAt)) s (model); "
                + "its protected VMs: \(subjects.map(\.rawValue).joined(separator: ", "))",
            "storage kept = home on \(keptDatastores.map(\.rawValue).joined(separator: ", ")) (VMFS); "
                + "storage lost = home on \(lostDatastores.map(\.rawValue).joined(separator: ", ")) (NFS/iSCSI, gone with a converged network); "
                + "heartbeat datastores seen = chosen among the kept ones, not seen = among the lost ones",
            "times are model seconds after T0 (run seconds ÷ time scale)",
        ]
        lines += adjustments.map { "topology adjusted: \($0)" }
        return lines
    }

    /// Readings of the oracle the predictions follow where it is inferred or open.
    static let readings = [
        "isolated slave: isolation declared at T30, response at T30 + D (D = 0 on 5.0, max(30, isolationPolicyDelay) on 5.1+), ±2 s (INV-I1)",
        "VM disk locks lapse 35 s after their last renewal on every datastore type (NFSv3 default; VMFS undocumented)",
        "row 8: a VM that vanished from the isolated host's poweron file is restarted without a poweredoff marker (restartIsolatedVMWithoutMarker)",
        "rows 11–12: a guest shutdown without storage stalls and is forced off at T_resp + 300 s",
        "row 3: the isolation heals at T140; the copy without the lock is powered off within 60 s (INV-SB2 bound)",
        "a restart counts when its instance starts: within 30 s (+2 s placement, +10 s power-on) of the power-off (INV-I9), or at the first retry mark after it (rows 6, 10)",
    ]

    /// Reasons of the cells that do not match, `name: reason`.
    var problems: [(cell: String, lines: [String])] {
        results.filter { $0.verdict != .matches }.map { r in
            (r.cell.name, r.reasons + r.checkProblems.filter { problem in !r.reasons.contains(problem) })
        }
    }

    // MARK: - Markdown

    /// The report as markdown: setup, the table, what differs, the readings.
    public func markdown() -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var out = ["# Isolation matrix (oracle §5.5 decision table)", ""]
        out += setupLines.map { "- \(escape($0))" }
        out += ["", "| # | setting (response · storage · heartbeats) | observed: the isolated host's protected VMs | predicted (documented behaviour) | checks | verdict |",
                "|---|---|---|---|---|---|"]
        for row in rows {
            let cells = [row.number, escape(row.setting), row.observed.map(escape).joined(separator: "<br>"),
                         row.predicted.map(escape).joined(separator: "<br>"), row.checks, "**\(row.verdict.rawValue)**"]
            out.append("| " + cells.joined(separator: " | ") + " |")
        }
        out += ["", tally]
        let problems = self.problems
        if !problems.isEmpty {
            out += ["", "## Cells that do not match", ""]
            for p in problems {
                out.append("- **\(p.cell)**")
                out += p.lines.map { "  - \(escape($0))" }
            }
        }
        out += ["", "## Readings", ""]
        out += Self.readings.map { "- \($0)" }
        return out.joined(separator: "\n") + "\n"
    }
}

/// `items` without repeats, in first-seen order.
private func uniqued(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}
