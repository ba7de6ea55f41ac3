import Foundation

/// Removes what dead runs left on the machine (chaos-anchors C.1: leftover faults are the
/// first complaint about chaos tools). `chaos clean` and the start of every run call it.
///
/// Three phases, for each target run:
/// 1. **Processes.** Every cgroup `…/freezer/hachaos/<run>/*` is frozen, each member gets
///    SIGKILL by PID, then it is thawed and must empty. Processes in another of our cgroups,
///    and those `ip netns pids` lists for our namespaces, get SIGKILL by PID too.
/// 2. **Journal.** Each entry not marked removed is undone in reverse order; "already gone"
///    failures count as success. `process` entries are never undone by their recorded PID
///    (it may have been reused): phase 1 covered them. `shared` entries are skipped while
///    another run is alive (that run's own journal will remove them).
/// 3. **Sweep** by label and name, for anything no journal recorded: Docker containers and
///    networks labelled `hachaos.run=<run>` (when a daemon answers), namespaces `hac-<run>-…`, links
///    `hac<run>…`, mounts under `/run/hachaos/<run>` or named `hac-<run>…`, cgroups
///    `hachaos/<run>`, the folder `/run/hachaos/<run>`.
///
/// A run is **dead** when the owner PID in its journal header is gone (or is another process
/// with the same PID). Runs that no journal mentions are dead too: for the sweep to spare a
/// live run, every run on the machine must use the same journal directory.
public enum Reaper {
    /// Cleans `runID` (whatever its owner's state), or every dead run when `runID` is `nil`.
    ///
    /// - Parameters:
    ///   - journalDir: where journals are; the default directory is also read to find live runs.
    ///   - timeout: per command.
    /// - Returns: what was removed and what could not be.
    public static func clean(
        runID: RunID?, journalDir: String = RunJournal.defaultDirectory, runner: any CommandRunner,
        system: SystemPaths = .live, timeout: Duration = .seconds(10), engine: DockerEngine = DockerEngine()
    ) async -> ReaperReport {
        var report = ReaperReport()
        let executor = NetnsActionExecutor(runner: runner, commandTimeout: timeout, tolerateGone: true)

        // Which runs are alive, which are ours to clean.
        var journals: [JournalContents] = []
        for path in RunJournal.journalPaths(in: journalDir) {
            do {
                journals.append(try RunJournal.read(path: path))
            } catch {
                report.failures.append("\(error)")
            }
        }
        var live = liveRuns(journalDirs: [journalDir, system.sharedJournalDirectory], system: system)
        let netnsNames = await listNetns(runner, timeout: timeout, report: &report)
        // Containers and networks of the compose backend, by their `hachaos.run` label (only
        // when a Docker daemon answers; tests with a fake system leave Docker alone).
        let docker = system == .live ? await DockerLeftovers.list(engine: engine) : DockerLeftovers()
        let linkNames = await listLinks(runner, timeout: timeout, report: &report)
        let mounts = system.mountTable()
        let targets: Set<RunID>
        if let runID {
            targets = [runID]
            live.remove(runID)
        } else {
            var found = Set(journals.map(\.header.runID))
            found.formUnion(netnsNames.compactMap { NetnsLayout.runID(ofNamespace: $0) })
            found.formUnion(linkNames.compactMap { NetnsLayout.runID(ofInterface: $0) })
            found.formUnion(mounts.compactMap { runIDOfMount(source: $0.source, mountPoint: $0.mountPoint, system: system) })
            found.formUnion(cgroupRunIDs(system))
            found.formUnion(runtimeRunIDs(system))
            found.formUnion(docker.runIDs)
            targets = found.subtracting(live)
            report.liveRuns = live.sorted()
        }
        report.runs = targets.sorted()
        guard !targets.isEmpty else { return report }

        // 1. Processes.
        for id in targets.sorted() {
            for controller in system.cgroupControllers where controller == "freezer" {
                let runDir = "\(system.cgroupBase(controller))/\(id.rawValue)"
                for dir in subdirectories(runDir) + [runDir] where !SystemPaths.pids(inCgroupProcs: "\(dir)/cgroup.procs").isEmpty {
                    let pids = SystemPaths.pids(inCgroupProcs: "\(dir)/cgroup.procs")
                    do {
                        for action in killCgroup(dir) { try await executor.perform(action) }
                        report.removed.append("processes \(pids.map(String.init).joined(separator: ",")) of cgroup \(dir)")
                    } catch {
                        report.failures.append("\(error)")
                    }
                }
            }
        }
        let stray = system.processesInHarnessCgroups().filter { targets.contains($0.runID) }.map(\.pid)
        if !stray.isEmpty {
            await undo(["kill", "-9"] + stray.map(String.init), runner: runner, timeout: timeout, report: &report, label: "processes \(stray)")
        }
        for name in netnsNames where NetnsLayout.runID(ofNamespace: name).map(targets.contains) == true {
            do {
                try await executor.perform(.signalNetns(netns: name, signal: "9"))
            } catch {
                report.failures.append("\(error)")
            }
        }

        // 2. Journals.
        let othersAlive = !live.isEmpty
        for journal in journals where targets.contains(journal.header.runID) {
            var clean = true
            for entry in journal.outstanding.reversed() {
                var ok = true
                if entry.kind == .process || (entry.shared && othersAlive) {
                    ok = true
                } else {
                    for argv in entry.undo {
                        ok = await undo(argv, runner: runner, timeout: timeout, report: &report, label: "\(entry.kind.rawValue) \(entry.name)", quiet: true, shared: entry.shared) && ok
                    }
                }
                if ok {
                    var removed = entry
                    removed.state = .removed
                    do {
                        try RunJournal.append(removed, toFileAt: journal.path)
                        if !entry.undo.isEmpty && entry.kind != .process && !(entry.shared && othersAlive) {
                            report.removed.append("\(entry.kind.rawValue) \(entry.name)")
                        }
                    } catch {
                        report.failures.append("\(error)")
                        clean = false
                    }
                } else {
                    clean = false
                }
            }
            if clean, (try? FileManager.default.removeItem(atPath: journal.path)) != nil {
                report.journalsDeleted.append(journal.path)
                RunJournal.removeDirectoryIfEmpty(journalDir)
            }
        }

        // 3. Sweep by label (Docker: what the journals did not cover), then by name.
        let dockerLeft = docker.runIDs.isEmpty ? docker : await DockerLeftovers.list(engine: engine)
        for argv in dockerLeft.undo(for: targets) {
            if let failure = await DockerUndo.perform(argv, engine: engine) {
                report.failures.append(failure)
            } else {
                report.removed.append(argv.dropFirst().joined(separator: " "))
            }
        }
        for name in await listNetns(runner, timeout: timeout, report: &report) where NetnsLayout.runID(ofNamespace: name).map(targets.contains) == true {
            await undo(["ip", "netns", "del", name], runner: runner, timeout: timeout, report: &report, label: "netns \(name)")
        }
        for name in await listLinks(runner, timeout: timeout, report: &report) where NetnsLayout.runID(ofInterface: name).map(targets.contains) == true {
            await undo(["ip", "link", "del", name], runner: runner, timeout: timeout, report: &report, label: "link \(name)")
        }
        let ourMounts = system.mountTable()
            .filter { runIDOfMount(source: $0.source, mountPoint: $0.mountPoint, system: system).map(targets.contains) == true }
            .map(\.mountPoint)
        for point in ourMounts.reversed() {
            await undo(["umount", "-l", point], runner: runner, timeout: timeout, report: &report, label: "mount \(point)")
        }
        for id in targets.sorted() {
            for controller in system.cgroupControllers {
                let runDir = "\(system.cgroupBase(controller))/\(id.rawValue)"
                guard FileManager.default.fileExists(atPath: runDir) else { continue }
                for dir in subdirectories(runDir) {
                    await undo(["rmdir", dir], runner: runner, timeout: timeout, report: &report, label: "cgroup \(dir)")
                }
                await undo(["rmdir", runDir], runner: runner, timeout: timeout, report: &report, label: "cgroup \(runDir)")
            }
            let runtime = "\(system.runtimeRoot)/\(id.rawValue)"
            if FileManager.default.fileExists(atPath: runtime) {
                if FileManager.default.fileExists(atPath: "\(runtime)/mnt") {
                    await undo(["rmdir", "\(runtime)/mnt"], runner: runner, timeout: timeout, report: &report, label: "dir \(runtime)/mnt")
                }
                await undo(["rmdir", runtime], runner: runner, timeout: timeout, report: &report, label: "dir \(runtime)")
            }
        }
        if live.isEmpty {
            // Shared parents, only when empty (rmdir never removes anything else). The datastore
            // root carries no run id: it goes only because a dead run of ours was found.
            let shared = system.cgroupControllers.map(system.cgroupBase) + [system.runtimeRoot] + datastoreRoots(system)
            for path in shared where FileManager.default.fileExists(atPath: path) {
                await undo(["rmdir", path], runner: runner, timeout: timeout, report: &report, label: "dir \(path)", shared: true)
            }
            // `ip netns`' own bind mount, once no namespace at all is left under it.
            let netnsDir = NetnsPlanner.netnsRunDirectory
            if system == .live, system.mountTable().contains(where: { $0.mountPoint == netnsDir }),
               !system.mountTable().contains(where: { $0.mountPoint.hasPrefix(netnsDir + "/") }) {
                if await undo(["umount", netnsDir], runner: runner, timeout: timeout, report: &report, label: "mount \(netnsDir)", shared: true) {
                    await undo(["rmdir", netnsDir], runner: runner, timeout: timeout, report: &report, label: "dir \(netnsDir)", shared: true)
                }
            }
            RunJournal.removeDirectoryIfEmpty(journalDir)
        }
        return report
    }

    // MARK: - Live runs

    /// Run ids whose journal owner (in any of `journalDirs`) is alive.
    public static func liveRuns(journalDirs: [String], system: SystemPaths = .live) -> Set<RunID> {
        var live: Set<RunID> = []
        for dir in Set(journalDirs) {
            for path in RunJournal.journalPaths(in: dir) {
                guard let journal = try? RunJournal.read(path: path) else { continue }
                if system.ownerIsAlive(journal.header) { live.insert(journal.header.runID) }
            }
        }
        return live
    }

    // MARK: - Helpers

    /// Runs one undo command; "already gone" (and, for shared folders, "not empty") is success.
    @discardableResult
    private static func undo(
        _ argv: [String], runner: any CommandRunner, timeout: Duration, report: inout ReaperReport, label: String,
        quiet: Bool = false, shared: Bool = false
    ) async -> Bool {
        if DockerUndo.isUndo(argv) {
            guard let failure = await DockerUndo.perform(argv, engine: DockerEngine()) else {
                if !quiet { report.removed.append(label) }
                return true
            }
            report.failures.append(failure)
            return false
        }
        do {
            try await runner.runChecked(argv, timeout: timeout)
            if !quiet { report.removed.append(label) }
            return true
        } catch {
            if error.isAlreadyGone { return true }
            if shared && error.isStillInUse { return true }
            report.failures.append(error.description)
            return false
        }
    }

    private static func listNetns(_ runner: any CommandRunner, timeout: Duration, report: inout ReaperReport) async -> [String] {
        do {
            let result = try await runner.runChecked(["ip", "netns", "list"], timeout: timeout)
            return result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        } catch {
            report.failures.append(error.description)
            return []
        }
    }

    private static func listLinks(_ runner: any CommandRunner, timeout: Duration, report: inout ReaperReport) async -> [String] {
        do {
            let result = try await runner.runChecked(["ip", "-br", "link"], timeout: timeout)
            return result.stdout.split(separator: "\n").compactMap { line in
                line.split(separator: " ").first.map { String($0.split(separator: "@").first ?? $0) }
            }
        } catch {
            report.failures.append(error.description)
            return []
        }
    }

    /// The run a mount belongs to: `/run/hachaos/<run>/…`, `/run/netns/hac-<run>-…`, or a
    /// source named `hac-<run>-…`.
    static func runIDOfMount(source: String, mountPoint: String, system: SystemPaths) -> RunID? {
        let root = system.runtimeRoot + "/"
        if mountPoint.hasPrefix(root) {
            let rest = mountPoint.dropFirst(root.count)
            if let id = RunID(String(rest.prefix(6))), rest.dropFirst(6).first.map({ $0 == "/" }) ?? true { return id }
        }
        if let last = mountPoint.split(separator: "/").last, let id = NetnsLayout.runID(ofNamespace: last) { return id }
        if source.hasPrefix("hac-"), let id = RunID.embedded(in: source), source.dropFirst(10).first == "-" { return id }
        return nil
    }

    /// `/vmfs/volumes` then `/vmfs` (only for the machine itself, never for a test's fake paths).
    private static func datastoreRoots(_ system: SystemPaths) -> [String] {
        system == .live ? [NetnsLayout.datastoreRoot, "/vmfs"] : []
    }

    private static func cgroupRunIDs(_ system: SystemPaths) -> [RunID] {
        system.cgroupControllers.flatMap { subdirectories(system.cgroupBase($0)).compactMap { RunID(($0 as NSString).lastPathComponent) } }
    }

    private static func runtimeRunIDs(_ system: SystemPaths) -> [RunID] {
        subdirectories(system.runtimeRoot).compactMap { RunID(($0 as NSString).lastPathComponent) }
    }

    private static func subdirectories(_ path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { "\(path)/\($0)" }.filter { entry in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: entry, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    private static func killCgroup(_ freezer: String) -> [NetnsAction] {
        NetnsPlanner(cgroupTimeout: .seconds(5)).killCgroup(freezer)
    }
}

/// What ``Reaper/clean(runID:journalDir:runner:system:timeout:)`` did.
public struct ReaperReport: Hashable, Sendable {
    /// The runs it cleaned.
    public var runs: [RunID] = []
    /// Runs it left alone because their owner is alive.
    public var liveRuns: [RunID] = []
    /// What it removed (`netns hac-a3f09c-h1`, `mount /run/hachaos/a3f09c/mnt`, ...).
    public var removed: [String] = []
    /// What it could not remove (the journal keeps those entries for the next attempt).
    public var failures: [String] = []
    /// Journal files deleted because everything in them was removed.
    public var journalsDeleted: [String] = []

    public init() {}

    /// Whether everything was removed.
    public var isClean: Bool { failures.isEmpty }
}
