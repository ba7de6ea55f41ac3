import ChaosKit
import Foundation
import HACore
import HATestKit
import Testing

// MARK: - Helpers

/// A cell of the single-host table.
private func cell(_ response: IsolationResponse, kept: Bool, seen: Bool) -> MatrixCell {
    MatrixCell(response: response, isolation: .singleHost(storageKept: kept, heartbeatsSeen: seen))
}

/// The prediction for the default topology's first subject in `cell` (5.1 defaults, scale 1).
private func prediction(_ cell: MatrixCell, profile: Profile = .v51, tools: Bool = true) -> MatrixPrediction {
    let vm = VMConfig(id: "vm-1", homeDatastore: "ds-1", hasTools: tools)
    return MatrixPrediction.predict(cell, vm: vm, times: MatrixPrediction.Times(settings: Settings(profile: profile)))
}

/// host-2 (a slave; master host-1) isolated at model 60 s with vm-1 running on it since 1 s.
/// `vm-1`'s end and any restart are up to the test. Times are model seconds.
private func isolatedHost(scale: Double = 1, storageToo: Bool = true, heal: Double? = nil, declared: Bool = true) -> HistoryBuilder {
    var b = HistoryBuilder(datastores: [DatastoreSpec(id: "ds-1", kind: .nfs), DatastoreSpec(id: "ds-2", kind: .vmfs)],
                           vms: [HistoryBuilder.vm("vm-1")], isolationResponse: .powerOff, timeScale: scale, duration: 400)
    b.steadyRoles(master: "host-1")
    b.fault(.isolateHost("host-2", storageToo: storageToo), at: 60, healed: heal)
    if declared { b.event("host-2", .isolationDeclared, at: 90) }
    return b
}

private let fault = IsolationMatrix.faultAt

// MARK: - Cells and scenario generation

@Suite struct MatrixTests {
    @Test func cells_whenListed_coverTheWholeDecisionTableOnce() {
        let cells = MatrixCell.all
        #expect(cells.count == 14)
        #expect(Set(cells.map(\.name)).count == cells.count, "names must be unique: \(cells.map(\.name))")
        #expect(cells.compactMap(\.row) == Array(1...12))
        var combos = Set<String>()
        for c in cells where !c.isAllHosts { combos.insert("\(c.response.rawValue)-\(c.storageKept)-\(c.heartbeatsSeen)") }
        #expect(combos.count == 12, "response × storage × heartbeats must all appear: \(combos.sorted())")
        #expect(cells.filter(\.isAllHosts).map(\.response) == [.powerOff, .shutdown])
        #expect(cells.allSatisfy { !$0.invariants.isEmpty })
    }

    @Test func cells_rowNumbers_followTheOraclesOrder() {
        #expect(cell(.leavePoweredOn, kept: true, seen: true).row == 1)
        #expect(cell(.leavePoweredOn, kept: false, seen: false).row == 3)
        #expect(cell(.powerOff, kept: true, seen: false).row == 6)
        #expect(cell(.powerOff, kept: false, seen: true).row == 8)
        #expect(cell(.shutdown, kept: false, seen: false).row == 11)
        #expect(MatrixCell(response: .powerOff, isolation: .allHosts).row == nil)
        // The same invariants as the corpus rows choose.
        #expect(cell(.powerOff, kept: true, seen: true).invariants == ["INV-I1", "INV-E1", "INV-I5", "INV-I7", "INV-I9"])
        #expect(cell(.leavePoweredOn, kept: true, seen: false).invariants == ["INV-I1", "INV-E1", "INV-I4", "INV-SB3", "INV-R3"])
    }

    @Test func scenarios_fromTheDefaultTopology_roundTripThroughWriterAndParser() throws {
        let matrix = IsolationMatrix.onDefaultTopology()
        for c in matrix.cells {
            let generated = matrix.scenario(for: c)
            let parsed = try ScenarioParser.parse(yaml: ScenarioWriter.yaml(generated), path: "\(c.name).yaml")
            #expect(parsed.name == c.name)
            #expect(parsed.cluster == generated.cluster, "\(c.name): cluster differs after the round trip")
            #expect(parsed.datastores == generated.datastores)
            #expect(parsed.initialPlacement == generated.initialPlacement)
            #expect(parsed.settings == generated.settings)
            #expect(parsed.duration == generated.duration)
            #expect(parsed.expectations == generated.expectations)
            #expect(parsed.steps.map(\.fault) == generated.steps.map(\.fault))
            #expect(parsed.steps.map(\.at) == generated.steps.map(\.at))
            #expect(parsed.steps.map(\.healAt) == generated.steps.map(\.healAt))
        }
    }

    @Test func scenarios_whenGenerated_putTheCellsSettingInPlace() throws {
        let matrix = IsolationMatrix.onDefaultTopology()
        #expect(matrix.expectedMaster == "host-4")
        #expect(matrix.isolatedHost == "host-1")
        #expect(matrix.subjects == ["vm-2"])
        #expect(matrix.keptDatastores == ["ds-fc1", "ds-fc2"])
        #expect(matrix.lostDatastores == ["ds-nfs1", "ds-nfs2"])
        #expect(matrix.adjustments.isEmpty)

        let row5 = matrix.scenario(for: cell(.powerOff, kept: true, seen: true))
        #expect(row5.cluster.isolationResponse == .powerOff)
        #expect(row5.cluster.vm("vm-2")?.homeDatastore == "ds-fc1")
        #expect(row5.cluster.heartbeatDatastorePolicy == .userSelected(["ds-fc1", "ds-fc2"]))
        #expect(row5.steps == [FaultStep(at: fault, fault: .isolateHost("host-1", storageToo: false))])

        let row2 = matrix.scenario(for: cell(.leavePoweredOn, kept: true, seen: false))
        #expect(row2.cluster.vm("vm-2")?.homeDatastore == "ds-fc1")
        #expect(row2.cluster.heartbeatDatastorePolicy == .userSelected(["ds-nfs1", "ds-nfs2"]))
        #expect(row2.steps.first?.fault == .isolateHost("host-1", storageToo: true))

        let row3 = matrix.scenario(for: cell(.leavePoweredOn, kept: false, seen: false))
        #expect(row3.cluster.vm("vm-2")?.homeDatastore == "ds-nfs1")
        #expect(row3.steps.first?.healAt == fault + MatrixPrediction.row3HealAfter)

        let row12 = matrix.scenario(for: cell(.shutdown, kept: false, seen: true))
        #expect(row12.duration >= fault + 30 + 30 + 300 + 42, "the run must outlast the forced power-off and the restart")

        let outage = matrix.scenario(for: MatrixCell(response: .shutdown, isolation: .allHosts))
        #expect(outage.steps.first?.fault == .managementNetworkOutage)
        #expect(outage.steps.first?.healAt.map { $0 > fault + 62 } == true)
        // Only the subjects move; other VMs keep their topology.
        #expect(outage.cluster.vm("vm-3")?.homeDatastore == "ds-nfs2")
    }

    @Test func matrix_whenTheTopologyHasNoVMFS_addsADatastoreAndSaysSo() throws {
        let topology = try ScenarioParser.parse(yaml: """
            name: nfs-only
            duration: 100
            cluster:
              datastores: [{id: ds-n, type: nfs}]
              hosts: {count: 3}
              vms: {count: 3}
            """, path: "nfs-only.yaml")
        let matrix = try IsolationMatrix(topology: topology)
        #expect(matrix.keptDatastores == ["matrix-vmfs-1"])
        #expect(matrix.topology.cluster.hosts.allSatisfy { $0.datastores.contains("matrix-vmfs-1") })
        #expect(matrix.adjustments.count == 1)
        let yaml = ScenarioWriter.yaml(matrix.scenario(for: cell(.powerOff, kept: true, seen: true)))
        #expect(throws: Never.self) { try ScenarioParser.parse(yaml: yaml, path: "generated.yaml") }
    }

    @Test func matrix_whenNoSlaveRunsAProtectedVM_throws() throws {
        let topology = try ScenarioParser.parse(yaml: """
            name: master-only
            duration: 100
            cluster:
              datastores: [{id: ds-1, type: vmfs}]
              hosts: {count: 3}
              vms: [{id: vm-1, host: host-3, datastore: ds-1}, {id: vm-2, host: host-1, datastore: ds-1, priority: disabled}]
            """, path: "master-only.yaml")
        do {
            _ = try IsolationMatrix(topology: topology)
            Issue.record("a topology without an isolatable slave must be refused")
        } catch {
            #expect(error.code == .noIsolatableHost)
            #expect(error.message.contains("host-3"), "names the expected master: \(error.message)")
        }
    }

    // MARK: - Predictions (oracle §5.5)

    @Test func predictions_leavePoweredOnRows_matchTheOracle() {
        let row1 = prediction(cell(.leavePoweredOn, kept: true, seen: true))
        #expect(row1.outcome == .staysUp && row1.restart == .never && row1.splitBrain == .never && row1.stopWindow == nil)
        let row3 = prediction(cell(.leavePoweredOn, kept: false, seen: false))
        #expect(row3.outcome == .splitBrain && row3.splitBrain == .required)
        #expect(row3.stopReason == .lostLock)
        #expect(row3.stopWindow == 140...200)
        #expect(row3.restart == .window(notBefore: 14, by: 18 + 35 + 42))
        #expect(prediction(cell(.leavePoweredOn, kept: false, seen: true)).outcome == .staysUp)
    }

    @Test func predictions_powerOffAndShutdownRows_matchTheOracle() {
        let row5 = prediction(cell(.powerOff, kept: true, seen: true))
        #expect(row5.outcome == .restarted && row5.splitBrain == .never)
        #expect(row5.stopWindow == 58...62, "5.1 slave: response at T30 + 30 ±2")
        #expect(row5.stopReason == .isolationResponse)
        #expect(row5.restart == .afterStop(within: 42))

        let row6 = prediction(cell(.powerOff, kept: true, seen: false))
        let retry = 18.0 + 35 + 120 + 10 + 10
        #expect(row6.restart.deadline(stoppedAt: 60).map { abs($0 - retry) < 1e-6 } == true, "the T+2 min retry: \(String(describing: row6.restart.deadline(stoppedAt: 60)))")
        let row7 = prediction(cell(.powerOff, kept: false, seen: false))
        #expect(row7.outcome == .splitBrain && row7.splitBrain == .required)
        #expect(row7.stopWindow == 58...62)
        // 5.0: the response (T30) comes before the lock lapses: split-brain possible, not required.
        let row7v50 = prediction(cell(.powerOff, kept: false, seen: false), profile: .v50)
        #expect(row7v50.outcome == .restarted && row7v50.splitBrain == .allowed && row7v50.stopWindow == 28...32)

        let row9 = prediction(cell(.shutdown, kept: true, seen: true))
        #expect(row9.stopWindow == 58...362, "guest shutdown up to 300 s")
        #expect(prediction(cell(.shutdown, kept: true, seen: true), tools: false).stopWindow == 58...62, "no Tools: power-off at once")
        let row11 = prediction(cell(.shutdown, kept: false, seen: false))
        #expect(row11.outcome == .splitBrain && row11.stopWindow == 358...362, "shutdown stalls without storage: forced at T_resp + 300")
        let row12 = prediction(cell(.shutdown, kept: false, seen: true))
        #expect(row12.outcome == .restarted && row12.stopWindow == 358...362)

        let outage = prediction(MatrixCell(response: .powerOff, isolation: .allHosts))
        #expect(outage.outcome == .deferred && outage.restart == .never && outage.stopWindow == nil)
    }

    // MARK: - Summariser on hand-made histories

    @Test(arguments: [1.0, 0.25])
    func observation_whenRestartedBeforeThePowerOff_reportsTheSplitBrainWindow(scale: Double) {
        var b = isolatedHost(scale: scale)
        b.instance("vm-1", on: "host-2", from: 1, to: 120, reason: .isolationResponse)
        b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: false), at: 120)
        b.instance("vm-1", on: "host-3", from: 95, byHA: true)
        let o = MatrixObservation.observe(b.build(), vm: "vm-1", host: "host-2")
        #expect(o.outcome == .splitBrain)
        #expect(o.splitBrain.map { abs($0.from - 35) < 1e-6 && abs($0.to - 60) < 1e-6 && abs($0.length - 25) < 1e-6 } == true, "\(String(describing: o.splitBrain))")
        #expect(o.splitBrain?.openAtEnd == false)
        #expect(o.restartedOn == "host-3")
        #expect(o.summary.contains("split-brain T+35–T+60 (25 s)"), "\(o.summary)")
        let (verdict, reasons) = MatrixCellResult.compare(prediction(cell(.powerOff, kept: false, seen: false)), o)
        #expect(verdict == .matches, "\(reasons)")
        // The same run against row 8 (no split-brain allowed) differs.
        let (row8, why) = MatrixCellResult.compare(prediction(cell(.powerOff, kept: false, seen: true)), o)
        #expect(row8 == .differs)
        #expect(!why.isEmpty)
    }

    @Test func observation_whenPoweredOffThenRestarted_reportsWhereAndWhen() {
        var b = isolatedHost(storageToo: false)
        b.instance("vm-1", on: "host-2", from: 1, to: 120, reason: .isolationResponse)
        b.event("host-2", .isolationResponseApplied(vm: "vm-1", response: .powerOff, markerWritten: true), at: 120)
        b.instance("vm-1", on: "host-4", from: 140, byHA: true)
        let o = MatrixObservation.observe(b.build(), vm: "vm-1", host: "host-2")
        #expect(o.outcome == .restarted)
        #expect(o.stoppedAt == 60 && o.stopReason == .isolationResponse && o.markerWritten == true)
        #expect(o.restartedAt == 80 && o.restartedOn == "host-4")
        #expect(o.splitBrain == nil)
        #expect(o.summary.contains("restarted on host-4 at T+80"), "\(o.summary)")
        #expect(MatrixCellResult.compare(prediction(cell(.powerOff, kept: true, seen: true)), o).0 == .matches)
    }

    @Test func observation_whenTheRestartIsLate_differsWithTheDeadline() {
        var b = isolatedHost(storageToo: false)
        b.instance("vm-1", on: "host-2", from: 1, to: 120, reason: .isolationResponse)
        b.instance("vm-1", on: "host-4", from: 260, byHA: true)
        let (verdict, reasons) = MatrixCellResult.compare(prediction(cell(.powerOff, kept: true, seen: true)), MatrixObservation.observe(b.build(), vm: "vm-1", host: "host-2"))
        #expect(verdict == .differs)
        #expect(reasons.contains { $0.contains("predicted by T+102") }, "\(reasons)")
    }

    @Test func observation_whenDeferred_reportsTheDeferral() {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], isolationResponse: .powerOff, duration: 400)
        b.steadyRoles(master: "host-1")
        b.fault(.managementNetworkOutage, at: 60, healed: 240)
        b.event("host-2", .isolationDeclared, at: 90)
        b.event("host-2", .isolationResponseDeferred(vm: "vm-1"), at: 120)
        b.instance("vm-1", on: "host-2", from: 1)
        let o = MatrixObservation.observe(b.build(), vm: "vm-1", host: "host-2")
        #expect(o.outcome == .deferred && o.deferredAt == 60)
        #expect(MatrixCellResult.compare(prediction(MatrixCell(response: .powerOff, isolation: .allHosts)), o).0 == .matches)
        #expect(MatrixCellResult.compare(prediction(cell(.powerOff, kept: true, seen: true)), o).0 == .differs)
    }

    @Test func observation_whenTheRunSawNothing_isInconclusive() {
        // No instance of the VM on the host at T0.
        var empty = isolatedHost()
        empty.instance("vm-1", on: "host-3", from: 1)
        let notThere = MatrixObservation.observe(empty.build(), vm: "vm-1", host: "host-2")
        #expect(notThere.outcome == .notObserved)
        #expect(MatrixCellResult.compare(prediction(cell(.leavePoweredOn, kept: true, seen: true)), notThere).0 == .inconclusive)
        // The host never declared itself isolated: a VM that "stayed up" proves nothing.
        var silent = isolatedHost(declared: false)
        silent.instance("vm-1", on: "host-2", from: 1)
        let quiet = MatrixObservation.observe(silent.build(), vm: "vm-1", host: "host-2")
        #expect(quiet.outcome == .notObserved)
        #expect(quiet.unobservedReason?.contains("never declared itself isolated") == true)
        // No fault at all.
        let nothing = MatrixObservation.observe(HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")]).build(), vm: "vm-1", host: "host-2")
        #expect(nothing.outcome == .notObserved)
        // A run that ends before the predicted power-off cannot tell.
        var short = isolatedHost(storageToo: false)
        short.instance("vm-1", on: "host-2", from: 1)
        var history = short.build()
        history.duration = 100 * history.timeScale
        let cut = MatrixObservation.observe(history, vm: "vm-1", host: "host-2")
        #expect(MatrixCellResult.compare(prediction(cell(.powerOff, kept: true, seen: true)), cut).0 == .inconclusive)
    }

    // MARK: - End to end

    @Test func matrix_onTheSimulatorAtOneTenthScale_everyCellMatches() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hac-matrix-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let matrix = IsolationMatrix.onDefaultTopology()
        let runner = MatrixRunner(matrix: matrix, backend: SimBackend(), timeScale: 0.1, seed: 1, outDirectory: out, parallel: 2)
        let results = await runner.run()
        #expect(results.map(\.cell) == MatrixCell.all)
        for r in results {
            #expect(r.verdict == .matches, "\(r.cell.name): \(r.reasons) \(r.checkProblems); replay: chaos matrix --backend sim --time-scale 0.1 --seed 1")
            #expect(r.checksTotal > 0 && r.checkerVerdict == .pass)
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(r.cell.name)/result.json"))
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(r.cell.name)/scenario.yaml"))
        }
        let report = MatrixReport(matrix: matrix, backend: "sim", timeScale: 0.1, seed: 1, results: results)
        #expect(report.exitCode == 0)
        // Split-brain rows show their window; restarts say where.
        let row7 = try #require(results.first { $0.cell.row == 7 })
        #expect(row7.vms.first?.observation.splitBrain.map { $0.length > 0 } == true)
        let row5 = try #require(results.first { $0.cell.row == 5 })
        #expect(row5.vms.first?.observation.restartedOn.map { $0 != matrix.isolatedHost } == true)
    }

    @Test func matrix_withABrokenOwnershipCheck_differsOnTheAllHostsCells() async {
        let matrix = IsolationMatrix.onDefaultTopology()
        let runner = MatrixRunner(matrix: matrix, backend: SimBackend(), timeScale: 0.1, seed: 1, bugs: [.noOwnershipCheck])
        let results = await runner.run(MatrixCell.all.filter(\.isAllHosts))
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.verdict == .differs }, "\(results.map(\.reasons))")
        #expect(MatrixReport(matrix: matrix, backend: "sim", timeScale: 0.1, seed: 1, results: results).exitCode == 1)
    }

    // MARK: - Rendering

    @Test func report_rendersMarkdownAndSelfContainedHTML() {
        let matrix = IsolationMatrix.onDefaultTopology()
        let failed = MatrixCellResult.failed(MatrixCell.all[0], matrix: matrix, error: "netns <boom> & \"quote\"")
        let report = MatrixReport(matrix: matrix, backend: "netns", timeScale: 0.2, seed: 1, results: [failed])
        #expect(report.exitCode == 2)
        let md = report.markdown()
        #expect(md.contains("| # | setting"))
        #expect(md.contains("**inconclusive**"))
        let html = report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("class=\"verdict inconclusive\""))
        #expect(html.contains("&lt;boom&gt; &amp; &quot;quote&quot;"))
        #expect(!html.contains("<boom>"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://") && !html.contains("<link"))
    }
}
