import Foundation
import HACore

/// One setting of the isolation decision table (oracle §5.5): an isolation response, whether the
/// isolated host keeps the VM's storage, whether the master still sees its datastore heartbeats —
/// or the whole management network down at once.
///
/// The matrix runs one scenario per cell (``IsolationMatrix/scenario(for:)``) and compares what
/// happened to the isolated host's protected VMs with ``MatrixPrediction``.
public struct MatrixCell: Hashable, Sendable, Codable {
    /// Which hosts lose the management network, and what else goes with it.
    public enum Isolation: Hashable, Sendable, Codable {
        /// One slave is isolated (rows 1–12). `storageKept`: the host still reaches the VM's home
        /// datastore (S). `heartbeatsSeen`: the master still sees the host's datastore heartbeats (H).
        case singleHost(storageKept: Bool, heartbeatsSeen: Bool)
        /// Every host is isolated at once (management network down; row 5's note, INV-I11).
        case allHosts
    }

    /// The isolation response under test (`leavePoweredOn`, `powerOff` or `shutdown`).
    public var response: IsolationResponse
    /// Which hosts are isolated, and whether storage and heartbeats go with it.
    public var isolation: Isolation

    /// A cell with `response` under `isolation`.
    public init(response: IsolationResponse, isolation: Isolation) {
        self.response = response
        self.isolation = isolation
    }

    /// Every cell: rows 1–12 of oracle §5.5 in the oracle's order, then the all-hosts-isolated
    /// case for the two responses that stop VMs (leave powered on does nothing either way).
    public static let all: [MatrixCell] = {
        var cells: [MatrixCell] = []
        for response in [IsolationResponse.leavePoweredOn, .powerOff, .shutdown] {
            // The oracle's row order within a response: (S, H) = yes/yes, yes/no, no/no, no/yes.
            for (kept, seen) in [(true, true), (true, false), (false, false), (false, true)] {
                cells.append(MatrixCell(response: response, isolation: .singleHost(storageKept: kept, heartbeatsSeen: seen)))
            }
        }
        cells.append(MatrixCell(response: .powerOff, isolation: .allHosts))
        cells.append(MatrixCell(response: .shutdown, isolation: .allHosts))
        return cells
    }()

    /// The oracle §5.5 row number (1–12), or `nil` for the all-hosts-isolated case.
    public var row: Int? {
        guard case .singleHost(let kept, let seen) = isolation else { return nil }
        let base: Int
        switch response {
        case .powerOff: base = 4
        case .shutdown: base = 8
        default: base = 0
        }
        switch (kept, seen) {
        case (true, true): return base + 1
        case (true, false): return base + 2
        case (false, false): return base + 3
        case (false, true): return base + 4
        }
    }

    /// Whether the isolated host keeps the VM's home datastore (S); `true` for all hosts isolated.
    public var storageKept: Bool {
        if case .singleHost(let kept, _) = isolation { return kept }
        return true
    }

    /// Whether the master sees the isolated host's datastore heartbeats (H); `true` for all hosts isolated.
    public var heartbeatsSeen: Bool {
        if case .singleHost(_, let seen) = isolation { return seen }
        return true
    }

    /// Whether every host is isolated.
    public var isAllHosts: Bool { isolation == .allHosts }

    /// The response as the oracle's table writes it.
    public var responseText: String {
        switch response {
        case .powerOff: "power off"
        case .shutdown: "shut down"
        default: "leave powered on"
        }
    }

    /// A file-name-safe, unique name: `row-05-power-off-kept-seen`, `all-hosts-isolated-shutdown`.
    /// It names the scenario and the cell's result folder.
    public var name: String {
        let response = responseText.replacingOccurrences(of: " ", with: "-")
        guard let row else { return "all-hosts-isolated-\(response)" }
        let number = row < 10 ? "0\(row)" : "\(row)"
        return "row-\(number)-\(response)-\(storageKept ? "kept" : "lost")-\(heartbeatsSeen ? "seen" : "unseen")"
    }

    /// The setting in words: `power off · storage kept · heartbeat datastores seen`.
    public var settingText: String {
        if isAllHosts { return "\(responseText) · all hosts isolated (management network down) · storage kept" }
        return "\(responseText) · storage \(storageKept ? "kept" : "lost") · heartbeat datastores \(heartbeatsSeen ? "seen" : "not seen")"
    }

    /// The invariants of oracle §11 the cell's run is checked against, as the corpus rows
    /// (`faults/isolation-row-NN.yaml`, `faults/management-network-outage.yaml`) choose them.
    public var invariants: [String] {
        if isAllHosts { return ["INV-I11", "INV-I5"] }
        var ids = ["INV-I1", "INV-E1"]
        let kept = storageKept
        let seen = heartbeatsSeen
        if response == .leavePoweredOn {
            ids.append("INV-I4")
            if kept { ids.append("INV-SB3") }
            if kept && !seen { ids.append("INV-R3") }
            if !kept && !seen { ids += ["INV-SB1", "INV-SB2"] }
            return ids
        }
        if response == .shutdown { ids.append("INV-I8") }
        ids.append(kept ? "INV-I5" : "INV-I6")
        if kept && seen { ids.append("INV-I7") }
        if seen { ids.append("INV-I9") }
        if !seen { ids.append("INV-SB1") }
        return ids
    }
}

/// The matrix cannot be built from the given topology (the CLI maps it to exit code 254).
public struct MatrixError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the topology lacks.
    public enum Code: String, Hashable, Sendable {
        /// No slave (a host other than the expected master) runs a protected, restartable VM.
        case noIsolatableHost
        /// Fewer than two hosts: nobody would be left to restart anything.
        case tooFewHosts
    }

    /// What the topology lacks (for tests and tooling; the message is for people).
    public var code: Code
    /// One sentence: what the topology lacks.
    public var message: String

    /// An error with its code and one-sentence message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `matrix: <message>`.
    public var description: String { "matrix: \(message)" }
}
