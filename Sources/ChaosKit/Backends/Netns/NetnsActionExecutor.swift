import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Carries out one ``NetnsAction`` on the machine (commands through the ``CommandRunner``,
/// control-file writes, bounded waits). Markers are returned untouched for the backend.
struct NetnsActionExecutor: Sendable {
    let runner: any CommandRunner
    /// Timeout of each command.
    let commandTimeout: Duration
    /// Failures that only say "already gone" count as success (tear-down, heal, reaper).
    let tolerateGone: Bool

    /// How often bounded waits look again.
    static let pollInterval: Duration = .milliseconds(20)

    /// - Returns: the number of commands run.
    @discardableResult
    func perform(_ action: NetnsAction) async throws(NetnsError) -> Int {
        switch action {
        case .run(let argv):
            try await run(argv)
            return 1
        case .runWithInput(let argv, let input):
            do {
                try await runner.runChecked(argv, timeout: commandTimeout, input: Data(input.utf8))
            } catch {
                if tolerateGone && error.isAlreadyGone { return 1 }
                throw NetnsError(code: error.code == .timedOut ? .timeout : .command, message: error.description, command: error)
            }
            return 1
        case .restore:
            return try await restore(action)
        case .writeFile(let path, let contents):
            do {
                try SystemPaths.writeFile(path, contents: contents)
            } catch {
                if tolerateGone && error.message.lowercased().contains("no such file") { return 0 }
                throw NetnsError(code: .file, message: error.description)
            }
            return 0
        case .removeFile(let path):
            if unlink(path) != 0 && errno != ENOENT {
                throw NetnsError(code: .file, message: "cannot remove \(path): \(String(cString: strerror(errno)))")
            }
            return 0
        case .awaitFileContents(let path, let contents, let timeout):
            try await poll(timeout: timeout, what: "\(path) = \(contents)") {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return tolerateGone }
                return text.trimmingCharacters(in: .whitespacesAndNewlines) == contents
            }
            return 0
        case .signalCgroup(let procs, let signal):
            let pids = SystemPaths.pids(inCgroupProcs: procs)
            guard !pids.isEmpty else { return 0 }
            try await run(["kill", "-\(signal)"] + pids.map { "\($0)" }, goneIsFine: true)
            return 1
        case .awaitCgroupEmpty(let procs, let timeout):
            try await poll(timeout: timeout, what: "\(procs) empty") { SystemPaths.pids(inCgroupProcs: procs).isEmpty }
            return 0
        case .signalNetns(let netns, let signal):
            let listed: CommandResult
            do {
                listed = try await runner.runChecked(["ip", "netns", "pids", netns], timeout: commandTimeout)
            } catch {
                if error.isAlreadyGone { return 1 }
                throw NetnsError(code: .command, message: error.description, command: error)
            }
            let pids = listed.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
            guard !pids.isEmpty else { return 1 }
            try await run(["kill", "-\(signal)"] + pids.map { "\($0)" }, goneIsFine: true)
            return 2
        case .startNode, .shutdownHost, .controllerRequest, .rogue:
            return 0
        }
    }

    /// One `iptables-restore --noflush` (atomic). When gone is fine and it failed only because
    /// something is already gone (a rule to delete, typically after a partial inject), the rules
    /// are applied one command each, each missing one tolerated.
    private func restore(_ action: NetnsAction) async throws(NetnsError) -> Int {
        guard let (argv, input) = action.restoreCommand else { return 0 }
        do {
            try await runner.runChecked(argv, timeout: commandTimeout, input: Data(input.utf8))
            return 1
        } catch {
            guard tolerateGone && error.isAlreadyGone else {
                throw NetnsError(code: error.code == .timedOut ? .timeout : .command, message: error.description, command: error)
            }
            // The namespace itself is gone: so are its rules.
            let stderr = error.stderr.lowercased()
            if stderr.contains("cannot open network namespace") || stderr.contains("cannot open \(NetnsPlanner.netnsRunDirectory)/") { return 1 }
        }
        let single = action.equivalentArgv
        for argv in single { try await run(argv, goneIsFine: true) }
        return 1 + single.count
    }

    private func run(_ argv: [String], goneIsFine: Bool = false) async throws(NetnsError) {
        do {
            try await runner.runChecked(argv, timeout: commandTimeout)
        } catch {
            if (tolerateGone || goneIsFine) && error.isAlreadyGone { return }
            throw NetnsError(code: error.code == .timedOut ? .timeout : .command, message: error.description, command: error)
        }
    }

    private func poll(timeout: Duration, what: String, _ done: () -> Bool) async throws(NetnsError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !done() {
            guard clock.now < deadline else { throw NetnsError(code: .timeout, message: "waited \(timeout) for \(what)") }
            do {
                try await clock.sleep(for: Self.pollInterval)
            } catch {
                throw NetnsError(code: .timeout, message: "cancelled while waiting for \(what)")
            }
        }
    }
}
