import Foundation
import HACore

/// Builds, faults and removes one run's namespaces, executing ``NetnsPlanner`` steps through
/// the ``CommandRunner`` and recording each resource in the ``RunJournal`` before it exists.
///
/// A failed ``bringUp()`` leaves its journal behind: call ``tearDown()`` (or the ``Reaper``).
public struct NetnsNetwork: Sendable {
    public let layout: NetnsLayout
    public let journal: RunJournal
    public let runner: any CommandRunner
    public let planner: NetnsPlanner
    /// Where the journals of all runs are (to spare shared folders while another run lives).
    public let journalDirectory: String
    /// Timeout of each command.
    public let commandTimeout: Duration
    /// How many steps of one group (``NetnsStep/group``: one host each) run at once in
    /// bring-up and tear-down; 1 runs every step in order.
    public let parallelism: Int

    /// `HACHAOS_NETNS_PARALLELISM` when set (1 = strictly one step after another), else 8.
    public static var defaultParallelism: Int {
        ProcessInfo.processInfo.environment["HACHAOS_NETNS_PARALLELISM"].flatMap { Int($0) }.map { max(1, $0) } ?? 8
    }

    public init(
        layout: NetnsLayout, journal: RunJournal, runner: any CommandRunner, journalDirectory: String = RunJournal.defaultDirectory,
        planner: NetnsPlanner = NetnsPlanner(), commandTimeout: Duration = .seconds(20), parallelism: Int = NetnsNetwork.defaultParallelism
    ) {
        self.layout = layout
        self.journal = journal
        self.runner = runner
        self.planner = planner
        self.journalDirectory = journalDirectory
        self.commandTimeout = commandTimeout
        self.parallelism = max(1, parallelism)
    }

    /// Splits steps into waves: a run of adjacent steps of one group, or a single step.
    static func waves(_ steps: [NetnsStep]) -> [[NetnsStep]] {
        var waves: [[NetnsStep]] = []
        for step in steps {
            if let group = step.group, let last = waves.last?.last, last.group == group {
                waves[waves.count - 1].append(step)
            } else {
                waves.append([step])
            }
        }
        return waves
    }

    /// Runs `body` for every step of `wave`, at most `parallelism` at once; the results in order.
    func forEach<T: Sendable>(_ wave: [NetnsStep], _ body: @escaping @Sendable (NetnsStep) async -> T) async -> [T] {
        if wave.count == 1 || parallelism == 1 {
            var results: [T] = []
            for step in wave { results.append(await body(step)) }
            return results
        }
        return await withTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: wave.count)
            var next = 0
            while next < min(parallelism, wave.count) {
                let i = next
                group.addTask { (i, await body(wave[i])) }
                next += 1
            }
            while let (i, value) = await group.next() {
                results[i] = value
                if next < wave.count {
                    let j = next
                    group.addTask { (j, await body(wave[j])) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    /// What an execution did.
    public struct Stats: Hashable, Sendable {
        public var steps: Int = 0
        public var commands: Int = 0
        public var duration: Duration = .zero
        /// Failures tolerated during tear-down (entries stay in the journal).
        public var failures: [String] = []
        /// Whether tear-down removed everything and deleted the journal.
        public var journalDeleted = false
    }

    // MARK: - Start of a run

    /// The start of every netns run: reaps what dead runs left (``Reaper``, `runID: nil`),
    /// picks a free subnet, builds the layout and opens the run's journal.
    ///
    /// - Parameters:
    ///   - reapDeadRuns: `false` only where other runs may keep their journals elsewhere (tests).
    /// - Returns: the network, ready for ``bringUp()``, and what the reaper removed.
    public static func prepare(
        runID: RunID = .random(), hosts: [(HostID, [DatastoreID])], datastores: [DatastoreID], ipStorage: Set<DatastoreID> = [],
        runDirectory: String, journalDirectory: String = RunJournal.defaultDirectory, runner: any CommandRunner,
        reapDeadRuns: Bool = true, limits: NetnsLayout.Limits = .init()
    ) async throws(NetnsError) -> (network: NetnsNetwork, reaped: ReaperReport) {
        guard Capabilities.netns else {
            throw NetnsError(code: .unsupported, message: Capabilities.netnsProblems.joined(separator: "; "))
        }
        let reaped = reapDeadRuns ? await Reaper.clean(runID: nil, journalDir: journalDirectory, runner: runner) : ReaperReport()
        // The subnet is claimed and the journal opened under one lock (SubnetClaim), so runs
        // starting together never share a /24.
        let (subnet, journal) = try await SubnetClaim.claim(runID: runID, journalDirectory: journalDirectory) { () async throws(NetnsError) in
            try await subnetIndicesInUse(runner: runner)
        }
        let layout: NetnsLayout
        do {
            layout = try NetnsLayout(
                runID: runID, hosts: hosts, datastores: datastores, ipStorage: ipStorage, runDirectory: runDirectory, subnetIndex: subnet, limits: limits
            )
        } catch {
            _ = await journal.close()
            throw NetnsError(code: .unsupported, message: error.description)
        }
        return (NetnsNetwork(layout: layout, journal: journal, runner: runner, journalDirectory: journalDirectory), reaped)
    }

    // MARK: - Subnet

    /// The subnet indices the machine's interfaces show in use (`ip -br addr`, collision rule of
    /// ``NetnsLayout``).
    public static func subnetIndicesInUse(runner: any CommandRunner, timeout: Duration = .seconds(10)) async throws(NetnsError) -> Set<Int> {
        do {
            return NetnsLayout.subnetIndicesInUse(ipBriefAddr: try await runner.runChecked(["ip", "-br", "addr"], timeout: timeout).stdout)
        } catch {
            throw NetnsError(code: .command, message: error.description, command: error)
        }
    }

    /// The first free subnet index from the run id's preferred one, without claiming it (a run
    /// claims its subnet with ``SubnetClaim``; this is for renders and tests).
    public static func freeSubnetIndex(for runID: RunID, runner: any CommandRunner, timeout: Duration = .seconds(10)) async throws(NetnsError) -> Int {
        let used = try await subnetIndicesInUse(runner: runner, timeout: timeout)
        guard let index = NetnsLayout.chooseSubnetIndex(preferred: NetnsLayout.preferredSubnetIndex(for: runID), inUse: used) else {
            throw NetnsError(code: .noSubnet, message: "all 512 /24 subnets of 198.18.0.0/15 are in use")
        }
        return index
    }

    // MARK: - Bring-up and tear-down

    /// Builds the layout; stops at the first failure (the journal then lists what exists).
    @discardableResult
    public func bringUp() async throws(NetnsError) -> Stats {
        let clock = ContinuousClock()
        let start = clock.now
        var stats = Stats()
        let executor = NetnsActionExecutor(runner: runner, commandTimeout: commandTimeout, tolerateGone: false)
        // One step: carry it out (its resource is journaled already). Returns the commands run.
        let perform: @Sendable (NetnsStep) async -> Result<Int, NetnsError> = { step in
            var commands = 0
            for action in step.actions {
                do throws(NetnsError) {
                    commands += try await executor.perform(action)
                } catch {
                    return .failure(error)
                }
            }
            return .success(commands)
        }
        // Waves of independent steps run concurrently; a wave ends before the next begins, and
        // the first failure stops the bring-up after its wave (the journal lists what exists).
        // Every resource of a wave is journaled (one write, one fsync) before any step of the
        // wave starts, and those whose step succeeded are marked created together afterwards.
        for wave in Self.waves(planner.bringUp(layout)) {
            let resources = wave.map { step -> JournalResource? in
                if case .plan(let resource) = step.journal { resource } else { nil }
            }
            var seqs: [Int?] = []
            do throws(JournalError) {
                var planned = try await journal.plan(resources.compactMap { $0 })[...]
                seqs = resources.map { $0 == nil ? nil : planned.popFirst() }
            } catch {
                throw NetnsError(code: .journal, message: error.description)
            }
            var created: [Int] = []
            var failure: NetnsError?
            for (index, result) in await forEach(wave, perform).enumerated() {
                switch result {
                case .success(let commands):
                    stats.commands += commands
                    stats.steps += 1
                    if let seq = seqs[index] { created.append(seq) }
                case .failure(let error):
                    failure = failure ?? error
                }
            }
            do throws(JournalError) {
                try await journal.markCreated(created)
            } catch {
                throw NetnsError(code: .journal, message: error.description)
            }
            if let failure { throw failure }
        }
        stats.duration = clock.now - start
        return stats
    }

    /// Removes everything: unhealed faults are healed, then the planned tear-down runs, then
    /// the journal's undo for whatever is still recorded (a partial bring-up). Never throws:
    /// failures are listed in the result and their entries stay in the journal for the reaper;
    /// when nothing is left, the journal is closed and deleted.
    @discardableResult
    public func tearDown() async -> Stats {
        let clock = ContinuousClock()
        let start = clock.now
        var stats = Stats()
        let executor = NetnsActionExecutor(runner: runner, commandTimeout: commandTimeout, tolerateGone: true)
        let othersAlive = !Reaper.liveRuns(journalDirs: [journalDirectory, layout.system.sharedJournalDirectory], system: layout.system)
            .subtracting([layout.runID]).isEmpty
        let entries = await journal.allEntries

        // Unhealed faults first (newest first): their heal is their undo.
        for entry in entries.reversed() where entry.state != .removed && entry.name.hasPrefix("\(layout.runID.prefix)-s") {
            if await undo(entry, stats: &stats) { try? await journal.markRemoved(entry.seq) }
        }
        let journal = journal
        // One step: its actions unless it is shared and another run lives. Returns (ran,
        // commands, failures, the journal entry to mark removed: set when they all succeeded).
        let perform: @Sendable (NetnsStep) async -> (Bool, Int, [String], Int?) = { step in
            var shared = false
            var known = true
            var seq: Int?
            if case .remove(let kind, let name) = step.journal {
                let entry = entries.last { $0.kind == kind && $0.name == name }
                known = entry.map { $0.state != .removed } ?? false
                shared = entry?.shared ?? false
                seq = entry?.seq
            }
            guard known else { return (false, 0, [], nil) }
            var ok = true
            var commands = 0
            var failures: [String] = []
            if !(shared && othersAlive) {
                for action in step.actions {
                    do throws(NetnsError) {
                        commands += try await executor.perform(action)
                    } catch {
                        if shared, error.command?.isStillInUse == true { continue }
                        failures.append(error.description)
                        ok = false
                    }
                }
            }
            return (true, commands, failures, ok ? seq : nil)
        }
        // The entries a wave removed are marked removed together (one write, one fsync).
        for wave in Self.waves(planner.tearDown(layout)) {
            var removed: [Int] = []
            for (ran, commands, failures, seq) in await forEach(wave, perform) where ran {
                stats.commands += commands
                stats.failures += failures
                stats.steps += 1
                if let seq { removed.append(seq) }
            }
            try? await journal.markRemoved(removed)
        }
        // Whatever the plan did not cover (a bring-up that failed half-way).
        for entry in await journal.outstanding.reversed() {
            if entry.kind == .process || (entry.shared && othersAlive) {
                try? await journal.markRemoved(entry.seq)
            } else if await undo(entry, stats: &stats) {
                try? await journal.markRemoved(entry.seq)
            }
        }
        // Nothing left to reap: the journal goes too.
        stats.journalDeleted = await journal.close(deleteIfClean: true)
        stats.duration = clock.now - start
        return stats
    }

    private func undo(_ entry: JournalEntry, stats: inout Stats) async -> Bool {
        var ok = true
        for argv in entry.undo {
            stats.commands += 1
            do {
                try await runner.runChecked(argv, timeout: commandTimeout)
            } catch {
                if error.isAlreadyGone || (entry.shared && error.isStillInUse) { continue }
                stats.failures.append(error.description)
                ok = false
            }
        }
        return ok
    }

    // MARK: - Faults

    /// Journals the fault's heal (as undo), then injects it.
    ///
    /// - Returns: the marker actions (start node, controller requests) for the backend to carry out.
    public func inject(_ plan: FaultPlan) async throws(NetnsError) -> [NetnsAction] {
        var seq: Int?
        if let resource = plan.resource {
            do {
                seq = try await journal.plan(resource)
            } catch {
                throw NetnsError(code: .journal, message: error.description)
            }
        }
        let markers = try await perform(plan.inject, tolerateGone: false)
        if let seq { try? await journal.markCreated(seq) }
        return markers
    }

    /// Heals the fault and marks its journal entry removed.
    ///
    /// - Returns: the marker actions for the backend to carry out.
    public func heal(_ plan: FaultPlan) async throws(NetnsError) -> [NetnsAction] {
        let markers = try await perform(plan.heal, tolerateGone: true)
        if let resource = plan.resource { _ = try? await journal.markRemoved(kind: resource.kind, name: resource.name) }
        return markers
    }

    /// Carries out `actions` in order, except that adjacent restores (one per namespace) run
    /// concurrently, at most ``parallelism`` at once; every one is tried even when another fails.
    private func perform(_ actions: [NetnsAction], tolerateGone: Bool) async throws(NetnsError) -> [NetnsAction] {
        let executor = NetnsActionExecutor(runner: runner, commandTimeout: commandTimeout, tolerateGone: tolerateGone)
        var markers: [NetnsAction] = []
        var index = 0
        while index < actions.count {
            let action = actions[index]
            if action.isMarker {
                markers.append(action)
                index += 1
                continue
            }
            var end = index
            while end < actions.count, case .restore = actions[end] { end += 1 }
            if end - index > 1 {
                let batch = actions[index..<end].map { NetnsStep(journal: .none, actions: [$0]) }
                let results = await forEach(batch) { step -> NetnsError? in
                    do throws(NetnsError) {
                        try await executor.perform(step.actions[0])
                        return nil
                    } catch {
                        return error
                    }
                }
                if let error = results.compactMap({ $0 }).first { throw error }
                index = end
            } else {
                try await executor.perform(action)
                index += 1
            }
        }
        return markers
    }
}
