import ChaosKit
import Foundation
import HACore
import Testing

/// `Tests/ChaosKitTests/Fixtures`, found from this file's path so tests run from any directory.
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
private let goodScenarios = fixtures.appendingPathComponent("good-scenarios").path
private let badScenarios = fixtures.appendingPathComponent("bad-scenarios").path

/// The broken files, each starting with `# expect: <line>:<column>: <substring of the message>`.
private let badFixtureNames = ((try? FileManager.default.contentsOfDirectory(atPath: badScenarios)) ?? [])
    .filter { $0.hasSuffix(".yaml") }
    .sorted()

/// A cluster of four hosts and two VMs, for one-step fault files.
private let fourHostCluster = """
    duration: 120
    cluster:
      datastores: [{id: ds-1}, {id: ds-2}]
      hosts: {count: 4}
      vms: {count: 2}

    """

@Suite struct ScenarioParserTests {
    // MARK: - Valid files

    @Test func parse_whenFileUsesEverySection_buildsTheScenario() throws {
        let path = goodScenarios + "/b-full.yaml"
        let scenario = try ScenarioParser.parse(yaml: String(contentsOfFile: path, encoding: .utf8), path: path)

        #expect(scenario.name == "host-failure")
        #expect(scenario.description == "A slave loses power; its VMs restart elsewhere by T60.")
        #expect(scenario.sourcePath == path)
        #expect(scenario.profile == .v50)
        #expect(scenario.settings == Settings(profile: .v50, isolationPolicyDelay: .seconds(45)))
        #expect(scenario.duration == 120)
        #expect(scenario.datastores == [
            DatastoreSpec(id: "ds-1", kind: .nfs), DatastoreSpec(id: "ds-2", kind: .vmfs), DatastoreSpec(id: "ds-local", kind: .local),
        ])

        let cluster = scenario.cluster
        #expect(cluster.name == "lab")
        #expect(cluster.version == 1)
        #expect(cluster.hosts == [
            HostConfig(id: "host-1", datastores: ["ds-1", "ds-2"], cpuMHz: 24_000, memoryMB: 131_072),
            HostConfig(id: "host-2", datastores: ["ds-1", "ds-2", "ds-local"]),
            HostConfig(id: "host-3", datastores: ["ds-1"]),
            HostConfig(id: "host-4", datastores: ["ds-1", "ds-2"]),
        ])
        #expect(cluster.vm("vm-1") == VMConfig(
            id: "vm-1", homeDatastore: "ds-local", restartPriority: .high, isolationResponse: .powerOff,
            cpuReservationMHz: 500, memoryReservationMB: 1024, memoryOverheadMB: 150, hasTools: false,
            compatibleHosts: ["host-1", "host-2"], isProtected: true, monitoring: .preset(.high)
        ))
        var vm2Monitoring = VMMonitoringSettings.preset(.medium, applicationMonitoring: true)
        vm2Monitoring.failureInterval = .seconds(45)
        vm2Monitoring.maxFailures = 2
        #expect(cluster.vm("vm-2") == VMConfig(id: "vm-2", homeDatastore: "ds-1", restartPriority: .disabled, monitoring: vm2Monitoring))
        #expect(cluster.vm("vm-3") == VMConfig(
            id: "vm-3", homeDatastore: "ds-1", isProtected: false,
            monitoring: VMMonitoringSettings(enabled: true, minUptime: .milliseconds(60_500))
        ))
        #expect(scenario.initialPlacement == ["vm-1": "host-2", "vm-2": "host-3", "vm-3": "host-3"])

        #expect(cluster.isolationResponse == .shutdown)
        #expect(cluster.isolationAddresses == ["gateway", "10.0.0.254"])
        #expect(cluster.heartbeatDatastorePolicy == .allFeasibleWithUserPreference(["ds-2"]))
        #expect(cluster.heartbeatDatastoresPerHost == 3)
        #expect(cluster.admissionControl == .failoverHosts(["host-4"]))
        #expect(cluster.hostMonitoringEnabled)
        #expect(cluster.terminateVMOnPDL)
        #expect(cluster.maskCleanShutdownEnabled == false)
        #expect(cluster.apdResponse == .restartConservative)
        #expect(cluster.pdlResponse == .warning)

        // Sorted by `at`; steps at the same time keep their file order; `for` is relative to `at`.
        #expect(scenario.steps.map { FaultStep(at: $0.at, fault: $0.fault, healAt: $0.healAt) } == [
            FaultStep(at: 20, fault: .powerOffHost("host-3"), healAt: 100),
            FaultStep(at: 20, fault: .packetLoss("host-2", probability: 0.25), healAt: 30.5),
            FaultStep(at: 30, fault: .unmountDatastore("ds-2", hosts: ["host-1", "host-2", "host-4"])),
            FaultStep(at: 35, fault: .pdlDatastore("ds-1", hosts: ["host-3"])),
            FaultStep(at: 40, fault: .killAgent("host-1", staysDown: true), healAt: 50),
            FaultStep(at: 41, fault: .killVM("vm-1")),
            FaultStep(at: 42, fault: .isolateHost("host-4", storageToo: true)),
            FaultStep(at: 60, fault: .partition(groups: [["host-1", "host-2"], ["host-3", "host-4"]]), healAt: 80),
        ])
        #expect(scenario.steps.first?.location == SourceLocation(file: path, line: 49, column: 5))
        #expect(scenario.steps.last?.location == SourceLocation(file: path, line: 48, column: 5))

        #expect(scenario.expectations == [
            .invariant("INV-FS1"), .invariant("INV-FS3"), .invariant("INV-I11"),
            .vmRunning(vm: "vm-3", on: "host-1", notOn: "host-3", by: 60),
            .vmNeverRestarted("vm-1"),
            .vmDown(vm: "vm-2", at: 70),
            .splitBrainResolved("vm-1"),
            .noHAPowerOff,
            .hostState(observer: "host-4", host: "host-3", state: .dead, from: 17, to: 20),
            .master("host-4", at: 40),
        ])
    }

    @Test func parse_whenHostsAndVMsAreCounts_generatesIdsAndPlacesRoundRobin() throws {
        let yaml = """
            duration: 60
            cluster:
              datastores: [{id: ds-1}, {id: ds-2, type: nfs}, {id: ds-3, type: local}]
              hosts: {count: 3}
              vms: {count: 5, priority: high}
            """
        let scenario = try ScenarioParser.parse(yaml: yaml, path: "scenarios/count-forms.yaml")

        #expect(scenario.name == "count-forms")
        #expect(scenario.profile == .v51)
        #expect(scenario.settings == .v51)
        #expect(scenario.cluster.name == "cluster-1")
        #expect(scenario.cluster.hosts == ["host-1", "host-2", "host-3"].map { HostConfig(id: HostID($0), datastores: ["ds-1", "ds-2"]) })
        #expect(scenario.cluster.vms.map(\.id) == ["vm-01", "vm-02", "vm-03", "vm-04", "vm-05"])
        #expect(scenario.cluster.vms.map(\.homeDatastore) == ["ds-1", "ds-2", "ds-1", "ds-2", "ds-1"])
        #expect(scenario.cluster.vms.allSatisfy { $0.restartPriority == .high && $0.isolationResponse == .clusterDefault })
        #expect(scenario.initialPlacement == [
            "vm-01": "host-1", "vm-02": "host-2", "vm-03": "host-3", "vm-04": "host-1", "vm-05": "host-2",
        ])
        #expect(scenario.cluster.maskCleanShutdownEnabled == nil)
        #expect(scenario.cluster.heartbeatDatastorePolicy == .allFeasible)
        #expect(scenario.steps.isEmpty)
        #expect(scenario.expectations.isEmpty)
    }

    @Test func parse_whenVMCountIsPerHostWithADatastore_putsCountOnEveryHost() throws {
        let yaml = """
            duration: 60
            cluster:
              datastores: [{id: ds-1}, {id: ds-2}]
              hosts: {count: 2}
              vms: {count: 2, perHost: true, datastore: ds-2, monitoring: low}
            ha: {heartbeatDatastores: none, admissionControl: {policy: percentage, cpu: 30}}
            """
        let scenario = try ScenarioParser.parse(yaml: yaml, path: "per-host.yaml")

        #expect(scenario.initialPlacement == ["vm-01": "host-1", "vm-02": "host-2", "vm-03": "host-1", "vm-04": "host-2"])
        #expect(scenario.cluster.vms.allSatisfy { $0.homeDatastore == "ds-2" && $0.monitoring == .preset(.low) })
        #expect(scenario.cluster.heartbeatDatastorePolicy == .userSelected([]))
        #expect(scenario.cluster.admissionControl == .percentage(cpuPercent: 30, memoryPercent: 25))
    }

    /// One example step per fault kind, with the ``Fault`` it must become.
    static let faultExamples: [(step: String, fault: Fault)] = [
        ("{at: 1, fault: network.partition, groups: [[host-1], [host-2, host-3]]}", .partition(groups: [["host-1"], ["host-2", "host-3"]])),
        ("{at: 1, fault: network.partitionOneWay, from: [host-1], to: [host-2]}", .partitionOneWay(from: ["host-1"], to: ["host-2"])),
        ("{at: 1, fault: network.isolate, host: host-2}", .isolateHost("host-2", storageToo: false)),
        ("{at: 1, fault: network.isolateWithStorage, host: host-2}", .isolateHost("host-2", storageToo: true)),
        ("{at: 1, fault: network.dropIsolationAddress, host: host-2}", .dropIsolationAddress("host-2")),
        ("{at: 1, fault: network.loss, host: host-2, probability: 1}", .packetLoss("host-2", probability: 1)),
        ("{at: 1, fault: network.managementOutage}", .managementNetworkOutage),
        ("{at: 1, fault: storage.unmount, datastore: ds-1, hosts: [host-2]}", .unmountDatastore("ds-1", hosts: ["host-2"])),
        ("{at: 1, fault: storage.pdl, datastore: ds-1, hosts: all}", .pdlDatastore("ds-1", hosts: ["host-1", "host-2", "host-3", "host-4"])),
        ("{at: 1, fault: storage.readOnly, datastore: ds-2, hosts: [host-4, host-1]}", .readOnlyDatastore("ds-2", hosts: ["host-4", "host-1"])),
        ("{at: 1, fault: process.killAgent, host: host-2}", .killAgent("host-2", staysDown: false)),
        ("{at: 1, fault: process.killHostd, host: host-2, staysDown: true}", .killHostd("host-2", staysDown: true)),
        ("{at: 1, fault: process.killVM, vm: vm-01}", .killVM("vm-01")),
        ("{at: 1, fault: process.stopAgent, host: host-2}", .stopAgent("host-2")),
        ("{at: 1, fault: host.powerOff, host: host-3}", .powerOffHost("host-3")),
        ("{at: 1, fault: host.shutdown, host: host-3}", .shutdownHost("host-3")),
        ("{at: 1, fault: host.freeze, host: host-3}", .freezeHost("host-3")),
        ("{at: 1, fault: host.restart, host: host-3}", .restartHost("host-3")),
        ("{at: 1, fault: control.controllerDown}", .controllerDown),
        ("{at: 1, fault: vm.guestHang, vm: vm-02}", .guestHang("vm-02")),
        ("{at: 1, fault: vm.userPowerOff, vm: vm-02}", .userPowerOff("vm-02")),
    ]

    @Test(arguments: faultExamples)
    func parse_whenStepNamesAFaultKind_buildsThatFault(step: String, fault: Fault) throws {
        let scenario = try ScenarioParser.parse(yaml: fourHostCluster + "faults:\n  - \(step)\n", path: "kinds.yaml")
        #expect(scenario.steps.map(\.fault) == [fault])
        #expect(step.contains("fault: \(fault.kind),") || step.contains("fault: \(fault.kind)}"))
    }

    // MARK: - Broken files

    @Test func badFixtures_coverAtLeastFifteenProblems() {
        #expect(badFixtureNames.count >= 15)
    }

    @Test(arguments: badFixtureNames)
    func load_whenFileIsBroken_reportsLineColumnAndMessage(file: String) throws {
        let path = badScenarios + "/" + file
        let header = try #require(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first)
        let parts = try #require(header.wholeMatch(of: /# expect: (\d+):(\d+): (.+)/), "bad header in \(file): \(header)")
        let line = try #require(Int(parts.1)), column = try #require(Int(parts.2))
        let expectedMessage = String(parts.3)

        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(paths: [path]) }
        #expect(error?.location == SourceLocation(file: path, line: line, column: column), "\(error.map(String.init(describing:)) ?? "")")
        #expect(error?.message.contains(expectedMessage) == true, "\(error.map(String.init(describing:)) ?? "")")
    }

    @Test func description_whenFormatted_readsLikeACompilerDiagnostic() {
        let error = ScenarioError(
            code: .unknownReference, location: SourceLocation(file: "faults/x.yaml", line: 7, column: 42),
            message: "unknown host \"host-9\" (hosts are host-1 … host-4)"
        )
        #expect(error.description == "faults/x.yaml:7:42: error: unknown host \"host-9\" (hosts are host-1 … host-4)")
    }

    @Test func parse_whenErrorsOccur_classifiesThemByCode() {
        func code(_ yaml: String) -> ScenarioError.Code? {
            #expect(throws: ScenarioError.self) { try ScenarioParser.parse(yaml: yaml, path: "x.yaml") }?.code
        }
        #expect(code("duration: [") == .syntax)
        #expect(code("cluster: {}") == .missingKey)
        #expect(code(fourHostCluster + "extra: 1") == .unknownKey)
        #expect(code(fourHostCluster + "description: [a]") == .wrongType)
        #expect(code(fourHostCluster + "faults: [{at: 1, fault: host.freeze, host: host-5}]") == .unknownReference)
        #expect(code(fourHostCluster + "ha: {isolationResponse: clusterDefault}") == .invalidValue)
        #expect(code(fourHostCluster + "expect: {invariants: [INV-E1, INV-E1]}") == .duplicate)
    }

    @Test func parse_whenFileNameIsNotAnIdAndNoNameIsGiven_asksForAName() {
        let error = #expect(throws: ScenarioError.self) {
            try ScenarioParser.parse(yaml: fourHostCluster, path: "faults/host failure.yaml")
        }
        #expect(error?.location == SourceLocation(file: "faults/host failure.yaml", line: 1, column: 1))
        #expect(error?.message.contains("found \"host failure\"; rename the file or add a \"name\" key") == true)
    }

    // MARK: - Loading paths

    @Test func load_whenGivenADirectory_loadsItsYAMLFilesSortedByName() throws {
        let scenarios = try ScenarioLoader.load(paths: [goodScenarios])

        // notes.txt and the hidden .editor-swap.yaml are skipped.
        #expect(scenarios.map(\.sourcePath) == [goodScenarios + "/a-counts.yml", goodScenarios + "/b-full.yaml"])
        #expect(scenarios.map(\.name) == ["a-counts", "host-failure"])
        #expect(scenarios.first?.cluster.vms.count == 8)
        #expect(scenarios.first?.duration == 90.5)
    }

    @Test func load_whenTwoFilesShareAName_reportsTheSecondName() throws {
        let path = goodScenarios + "/b-full.yaml"
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(paths: [path, path]) }
        #expect(error?.code == .duplicate)
        #expect(error?.location == SourceLocation(file: path, line: 2, column: 7))
        #expect(error?.message.contains("scenario name \"host-failure\" is already used by \(path)") == true)
    }

    @Test func load_whenPathDoesNotExist_reportsLineOneColumnOne() {
        let path = fixtures.appendingPathComponent("no-such-scenario.yaml").path
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(paths: [path]) }
        #expect(error?.code == .unreadable)
        #expect(error?.location == SourceLocation(file: path, line: 1, column: 1))
    }
}
