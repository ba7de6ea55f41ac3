import Foundation
import HACore

// Wire and file records of docs/NODES.md §3, §5 and §6, as flat Codable values.
//
// These are HostKit's own copies so that hostd, vm-workload and ha-node do not depend on
// unfinished work in HAWire; they MUST keep the field names of NODES.md exactly, so that a
// later unification with HAWire is a change of imports, not of bytes on the wire.

// MARK: - Agent ↔ hostd (NODES.md §5)

/// One request line from the agent (or the harness) to hostd, NODES.md §5.
///
/// `{"id":n,"op":"powerOn","vm":"vm-01","reason":"restart"}`. Every request MUST be answered by
/// exactly one ``HostdResponse`` carrying the same `id`.
public struct HostdRequest: Codable, Hashable, Sendable {
    /// The operations hostd offers.
    public enum Operation: String, Codable, Hashable, Sendable, CaseIterable {
        /// Start the VM on this host; answered once the VM holds its disk lock, or failed.
        case powerOn
        /// Hard power-off (SIGKILL); answered once the process is gone.
        case powerOff
        /// Guest shutdown request (SIGTERM); answered at once, completion comes as an event.
        case shutdown
        /// Hard power-off, then power-on again on this host.
        case reset
        /// The VMs hostd runs now (answer carries `vms`).
        case list
    }

    /// Correlates the request with its response; chosen by the client.
    public var id: Int
    public var op: Operation
    /// The VM; absent only for ``Operation/list``.
    public var vm: VMID?
    /// Why (recorded as the ground-truth reason), e.g. `restart`, `isolation-response`.
    public var reason: String?

    public init(id: Int, op: Operation, vm: VMID? = nil, reason: String? = nil) {
        self.id = id
        self.op = op
        self.vm = vm
        self.reason = reason
    }
}

/// hostd's answer to one ``HostdRequest``: `{"id":n,"ok":true|false,"reason":"..."}`.
public struct HostdResponse: Codable, Hashable, Sendable {
    public var id: Int
    public var ok: Bool
    /// Why a request failed (`file is locked`, `unknown vm`, ...); absent on success.
    public var reason: String?
    /// Only for `list`: the VMs that run on this host now, sorted.
    public var vms: [VMID]?

    public init(id: Int, ok: Bool, reason: String? = nil, vms: [VMID]? = nil) {
        self.id = id
        self.ok = ok
        self.reason = reason
        self.vms = vms
    }
}

/// An unsolicited line from hostd to its clients, and from a VM to hostd (guest datagrams).
///
/// `{"event":"vmPowerState","vm":...,"on":true|false,"reason":"crashed|..."}`,
/// `{"event":"guestHeartbeat","vm":...}`, `{"event":"vmIO","vm":...}`.
public struct HostdEvent: Codable, Hashable, Sendable {
    /// The kinds of event.
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        /// A VM started (`on` true) or ended (`on` false, with `reason`).
        case vmPowerState
        /// The guest's VMware-Tools heartbeat (VM monitoring, oracle §8).
        case guestHeartbeat
        /// The guest did disk I/O (VM monitoring's I/O-stats check).
        case vmIO
    }

    public var event: Kind
    public var vm: VMID
    /// Only for ``Kind/vmPowerState``.
    public var on: Bool?
    /// Only for ``Kind/vmPowerState``: the power-on reason, or the ``VMEndReason`` raw value.
    public var reason: String?

    public init(event: Kind, vm: VMID, on: Bool? = nil, reason: String? = nil) {
        self.event = event
        self.vm = vm
        self.on = on
        self.reason = reason
    }
}

// MARK: - Datastore files (NODES.md §3)

/// The VM disk lock lease `<datastore>/<vm>/lock`: `{"instance":"vm-01#3","host":"host-2","counter":17}`.
///
/// The holder MUST rewrite it with `counter + 1` every `vmDiskLockRenewInterval`; another
/// instance MAY break it only after observing it unchanged for `vmDiskLockExpiry` of its own time.
/// An empty `instance` means released (hostd and vm-workload delete the file instead).
public struct DiskLockFile: Codable, Hashable, Sendable {
    public var instance: String
    public var host: String
    public var counter: Int

    public init(instance: String, host: String, counter: Int) {
        self.instance = instance
        self.host = host
        self.counter = counter
    }

    /// Whether nobody holds the lock (`instance` empty).
    public var isReleased: Bool { instance.isEmpty }
}

/// One line of `<datastore>/<vm>/journal`: `{"vm","instance","host","seq","wall"}`.
public struct JournalRecord: Codable, Hashable, Sendable {
    public var vm: VMID
    public var instance: String
    public var host: HostID
    /// 1, 2, 3... per instance: one per successful append.
    public var seq: Int
    /// Unix seconds.
    public var wall: Double

    public init(vm: VMID, instance: String, host: HostID, seq: Int, wall: Double) {
        self.vm = vm
        self.instance = instance
        self.host = host
        self.seq = seq
        self.wall = wall
    }
}

// MARK: - Node folder files (NODES.md §2, §6)

/// One line of `N/logs/ground-truth.jsonl`: `{"wall","vm","instance","host","event":"start|stop","reason"}`.
public struct GroundTruthLine: Codable, Hashable, Sendable {
    /// `start` when the VM holds its lock and runs; `stop` when its process ended.
    public enum Kind: String, Codable, Hashable, Sendable {
        case start
        case stop
    }

    /// Unix seconds.
    public var wall: Double
    public var vm: VMID
    public var instance: String
    public var host: HostID
    public var event: Kind
    /// For `start` the power-on reason; for `stop` a ``VMEndReason`` raw value.
    public var reason: String

    public init(wall: Double, vm: VMID, instance: String, host: HostID, event: Kind, reason: String) {
        self.wall = wall
        self.vm = vm
        self.instance = instance
        self.host = host
        self.event = event
        self.reason = reason
    }
}

/// `N/run/vms/<vm>.json`: one running (or powering-on) VM process, for re-adoption by a new hostd.
public struct VMRunRecord: Codable, Hashable, Sendable {
    public var vm: VMID
    public var instance: String
    public var pid: Int32
    /// Unix seconds of the spawn (rewritten when the VM reported `LOCKED`).
    public var startedAt: Double

    public init(vm: VMID, instance: String, pid: Int32, startedAt: Double) {
        self.vm = vm
        self.instance = instance
        self.pid = pid
        self.startedAt = startedAt
    }
}

/// `N/run/vms/<vm>.exit`: written by vm-workload just before it exits on its own (HostKit's
/// addition to NODES.md §2), so a hostd that was down at that moment still learns the exit code.
public struct VMExitRecord: Codable, Hashable, Sendable {
    public var instance: String
    /// A ``VMWorkloadExitCode`` raw value.
    public var code: Int32
    /// Unix seconds of the exit.
    public var wall: Double

    public init(instance: String, code: Int32, wall: Double) {
        self.instance = instance
        self.code = code
        self.wall = wall
    }
}

// MARK: - JSON lines

/// Encoding and decoding of one JSON object per line (NODES.md §5, §6).
public enum JSONLines {
    /// The longest line any HostKit reader accepts (bytes, without the newline).
    public static let maxLineLength = 64 * 1024

    /// The compact, single-line JSON text of `value` (no trailing newline).
    ///
    /// - Parameter value: A flat record from this file.
    /// - Returns: The JSON text; JSON never contains a raw newline, so the text is one line.
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes one line (surrounding whitespace allowed).
    ///
    /// - Parameters:
    ///   - type: The record type.
    ///   - line: The line's bytes or text.
    /// - Returns: The decoded record.
    public static func decode<T: Decodable>(_ type: T.Type, from line: some StringProtocol) throws -> T {
        try JSONDecoder().decode(type, from: Data(line.utf8))
    }

    /// Decodes one line given as bytes.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
