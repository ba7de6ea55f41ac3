import Foundation
import HACore
import HostKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder (a short `/tmp/hk-XXXXXX`, unix socket paths are limited to 108 bytes)
/// plus every process a test starts in it, removed by ``cleanUp()`` even when the test failed.
///
/// Processes are ended by PID only: the ones the test spawned itself, the PIDs found in the
/// node folders' `run/*.pid` and `run/vms/*.json`, and, as a safety net for grandchildren,
/// processes whose command line contains this sandbox's unique path (every process the tests
/// start gets a path inside the sandbox as an argument).
final class Sandbox: Sendable {
    let root: String
    private let spawned = Mutex<[pid_t]>([])

    init() throws {
        var template = Array("/tmp/hk-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HostKitError(.io, "mkdtemp failed", errno: errno) }
        root = String(cString: made)
    }

    /// `root/<relative>`.
    func path(_ relative: String) -> String { root + "/" + relative }

    /// Starts a process (tracked for clean-up).
    @discardableResult
    func spawn(_ executable: String, _ arguments: [String], output: String? = nil) throws -> pid_t {
        let out: ProcessControl.Output = output.map { .appendingTo(path: path($0)) } ?? .null
        let pid = try ProcessControl.spawn(
            executable: executable, arguments: arguments, standardOutput: out,
            standardError: .appendingTo(path: path("stderr.log")), grouping: .newProcessGroup
        )
        spawned.withLock { $0.append(pid) }
        return pid
    }

    /// Waits for a spawned child to end (reaps it).
    func waitForExit(_ pid: pid_t, timeout: Duration = .seconds(10)) async -> ProcessControl.Termination? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let termination = ProcessControl.reapIfEnded(pid) { return termination }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Kills every process of this sandbox (by PID), waits for them, removes the folder.
    func cleanUp() {
        for _ in 0..<3 {
            let pids = Set(spawned.withLock { $0 } + recordedPIDs() + processesMentioningRoot())
            for pid in pids where pid > 1 && pid != getpid() { kill(pid, SIGKILL) }
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while ContinuousClock.now < deadline {
                for pid in spawned.withLock({ $0 }) { _ = ProcessControl.reapIfEnded(pid) }
                if processesMentioningRoot().isEmpty { break }
                usleep(10_000)
            }
        }
        // HOSTKIT_KEEP_SANDBOX=1 keeps the folder (logs, ground truth) for debugging a failure.
        if ProcessInfo.processInfo.environment["HOSTKIT_KEEP_SANDBOX"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// PIDs from `*/run/*.pid` and `*/run/vms/*.json` under the sandbox, if those processes
    /// still mention the sandbox path (no recycled PID is ever signalled).
    private func recordedPIDs() -> [pid_t] {
        var pids: [pid_t] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let full = path(relative)
            if relative.hasSuffix(".pid"), let text = try? String(contentsOfFile: full, encoding: .utf8),
               let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                pids.append(pid)
            } else if relative.contains("run/vms/"), relative.hasSuffix(".json"),
                      let data = FileManager.default.contents(atPath: full),
                      let record = try? JSONDecoder().decode(VMRunRecord.self, from: data) {
                pids.append(record.pid)
            }
        }
        return pids.filter { ProcessControl.isRunning(pid: $0, commandLineContains: root) }
    }

    /// Live processes whose command line contains this sandbox's unique path.
    func processesMentioningRoot() -> [pid_t] {
        FileOps.list("/proc").compactMap { pid_t($0) }.filter { $0 != getpid() }
            .filter { ProcessControl.isRunning(pid: $0, commandLineContains: root) }
    }

    // MARK: - Files

    func write(_ text: String, to relative: String) throws {
        let full = path(relative)
        try FileOps.makeDirectories(FileOps.parent(of: full))
        try FileOps.writeAtomically(Array(text.utf8), to: full)
    }

    func read(_ relative: String) -> String? {
        guard case .content(let bytes) = FileOps.read(path(relative), limit: 16 << 20) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func lines(_ relative: String) -> [String] {
        (read(relative) ?? "").split(separator: "\n").map(String.init)
    }

    func decodeLines<T: Decodable>(_ type: T.Type, _ relative: String) -> [T] {
        lines(relative).compactMap { try? JSONLines.decode(type, from: $0) }
    }

    func makeDirectory(_ relative: String) throws { try FileOps.makeDirectories(path(relative)) }
}

/// Re-checks `condition` every 10 ms until it holds or `timeout` passed.
///
/// - Returns: Whether it held in time.
func eventually(_ timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
