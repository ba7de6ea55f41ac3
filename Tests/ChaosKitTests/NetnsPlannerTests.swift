import ChaosKit
import HACore
import Testing

/// Run `a3f09c`: preferred subnet 0xa3f09c % 512 = 156 → 198.18.156.0/24.
let goldenRun = RunID("a3f09c")!

/// Three hosts; ds-2 is NFS (IP storage) and mounted by host-1 and host-2 only.
func goldenLayout() throws -> NetnsLayout {
    try NetnsLayout(
        runID: goldenRun,
        hosts: [("host-1", ["ds-1", "ds-2"]), ("host-2", ["ds-1", "ds-2"]), ("host-3", ["ds-1"])],
        datastores: ["ds-1", "ds-2"], ipStorage: ["ds-2"], runDirectory: "/var/lib/hachaos/runs/a3f09c"
    )
}

let goldenRuntime = NodeRuntime(
    hosts: [
        "host-1": .init(nodePID: 100, agentPID: 101, hostdPID: 102),
        "host-2": .init(nodePID: 200, agentPID: 201, hostdPID: 202),
        "host-3": .init(nodePID: 300, agentPID: 301, hostdPID: 302),
    ],
    vmPIDs: ["vm-01": .init(host: "host-2", pid: 250)],
    controllerPID: 50
)

/// `ip netns exec <ns> iptables -w 5 <args>`.
private func ipt(_ host: Int, _ arguments: String) -> [String] {
    ["ip", "netns", "exec", "hac-a3f09c-h\(host)", "iptables", "-w", "5"] + arguments.split(separator: " ").map(String.init)
}

/// One `iptables-restore --noflush` in host `host`'s namespace; each line `-A|-D <chain> <match>`,
/// tagged `hac-a3f09c-s<step>` and `-j DROP`.
private func restore(_ host: Int, step: Int = 7, _ lines: [String]) -> NetnsAction {
    .restore(netns: "hac-a3f09c-h\(host)", wait: 5, rules: lines.map { $0.split(separator: " ").map(String.init) + ["-m", "comment", "--comment", "hac-a3f09c-s\(step)", "-j", "DROP"] })
}

/// The same restore with `-A` lines turned into `-D` lines (the heal).
private func deleting(_ actions: [NetnsAction]) -> [NetnsAction] {
    actions.map { action in
        guard case .restore(let netns, let wait, let rules) = action else { return action }
        return .restore(netns: netns, wait: wait, rules: rules.map { $0.map { $0 == "-A" ? "-D" : $0 } })
    }
}

private func inMount(_ host: String, _ arguments: String) -> [String] {
    ["nsenter", "--mount=/run/hachaos/a3f09c/mnt/\(host)"] + arguments.split(separator: " ").map(String.init)
}

@Suite struct NetnsPlannerTests {
    let planner = NetnsPlanner()

    private func commands(_ fault: Fault, step: Int = 7) throws -> (inject: [[String]], heal: [[String]]) {
        try planner.faultCommands(fault, step: step, layout: goldenLayout(), runtime: goldenRuntime)
    }

    /// The link of host `i` (of the golden layout: subnet 198.18.156, hosts .11-.13) up again in
    /// one `ip -batch`, with the permanent neighbour entries that taking it down deleted.
    private func linkUp(_ i: Int) -> NetnsAction {
        let others = ["254", "1", "2", "11", "12", "13"].filter { $0 != "\(10 + i)" }.map { octet -> String in
            let hex = String(Int(octet)!, radix: 16)
            return "neigh replace 198.18.156.\(octet) lladdr 02:ac:c6:12:9c:\(hex.count == 1 ? "0" + hex : hex) dev eth0 nud permanent\n"
        }
        return .runWithInput(["ip", "-n", "hac-a3f09c-h\(i)", "-batch", "-"], input: "link set eth0 up\n" + others.joined())
    }

    private func plan(_ fault: Fault, step: Int = 7) throws -> FaultPlan {
        try planner.faultPlan(fault, step: step, layout: goldenLayout(), runtime: goldenRuntime)
    }

    // MARK: - Network faults

    @Test func partition_whenTwoGroups_dropsBothWaysInTheSmallerGroupsNamespacesAndHealDeletesExactlyThoseRules() throws {
        let fault = try plan(.partition(groups: [["host-1"], ["host-2", "host-3"]]))
        // One side cuts both directions: the rules go to the smaller group only.
        #expect(fault.inject == [
            restore(1, ["-A HAC-IN -s 198.18.156.12", "-A HAC-OUT -d 198.18.156.12", "-A HAC-IN -s 198.18.156.13", "-A HAC-OUT -d 198.18.156.13"]),
        ])
        #expect(fault.heal == deleting(fault.inject))
        #expect(fault.injectCommandCount == 1)
        // As single commands (the journal's undo is the heal this way): one iptables per rule.
        let (inject, heal) = try commands(.partition(groups: [["host-1"], ["host-2", "host-3"]]))
        let tag = "-m comment --comment hac-a3f09c-s7 -j DROP"
        #expect(inject == [
            ipt(1, "-A HAC-IN -s 198.18.156.12 \(tag)"), ipt(1, "-A HAC-OUT -d 198.18.156.12 \(tag)"),
            ipt(1, "-A HAC-IN -s 198.18.156.13 \(tag)"), ipt(1, "-A HAC-OUT -d 198.18.156.13 \(tag)"),
        ])
        #expect(heal == inject.map { $0.map { $0 == "-A" ? "-D" : $0 } })
        #expect(fault.resource?.undo == heal)
        // Never a rule between members of one group, never a flush, never the gateway or controller.
        #expect(!inject.joined().contains("-F"))
        #expect(!inject.contains { $0.contains("198.18.156.1") || $0.contains("198.18.156.2") })
    }

    @Test func partition_whenThreeGroups_cutsEveryPairOnOneSide() throws {
        let fault = try plan(.partition(groups: [["host-1"], ["host-2"], ["host-3"]]))
        // Ties go to the earlier group: {1}|{2} and {1}|{3} on host-1, {2}|{3} on host-2.
        #expect(fault.inject == [
            restore(1, ["-A HAC-IN -s 198.18.156.12", "-A HAC-OUT -d 198.18.156.12", "-A HAC-IN -s 198.18.156.13", "-A HAC-OUT -d 198.18.156.13"]),
            restore(2, ["-A HAC-IN -s 198.18.156.13", "-A HAC-OUT -d 198.18.156.13"]),
        ])
    }

    @Test func restore_isOneIptablesRestoreNoflushInTheNamespaceWithTheRulesOnStdin() throws {
        let fault = try plan(.partitionOneWay(from: ["host-1"], to: ["host-3"]))
        let command = try #require(fault.inject.first?.restoreCommand)
        #expect(command.argv == ["nsenter", "--net=/run/netns/hac-a3f09c-h1", "iptables-restore", "-w", "5", "--noflush"])
        #expect(command.input == "*filter\n-A HAC-OUT -d 198.18.156.13 -m comment --comment hac-a3f09c-s7 -j DROP\nCOMMIT\n")
        #expect(fault.heal.first?.restoreCommand?.input == "*filter\n-D HAC-OUT -d 198.18.156.13 -m comment --comment hac-a3f09c-s7 -j DROP\nCOMMIT\n")
        #expect(NetnsAction.run(["true"]).restoreCommand == nil)
        // Words with blanks or quotes are quoted for iptables-restore.
        #expect(NetnsAction.restoreWord("a b") == "\"a b\"" && NetnsAction.restoreWord("x\"y") == "\"x\\\"y\"" && NetnsAction.restoreWord("-A") == "-A")
    }

    @Test func partitionOneWay_whenFromH1ToH3_dropsOnlyThatDirection() throws {
        let fault = try plan(.partitionOneWay(from: ["host-1"], to: ["host-3"]))
        #expect(fault.inject == [restore(1, ["-A HAC-OUT -d 198.18.156.13"])])
        #expect(fault.heal == [restore(1, ["-D HAC-OUT -d 198.18.156.13"])])
        let (inject, heal) = try commands(.partitionOneWay(from: ["host-1"], to: ["host-3"]))
        let tag = "-m comment --comment hac-a3f09c-s7 -j DROP"
        #expect(inject == [ipt(1, "-A HAC-OUT -d 198.18.156.13 \(tag)")])
        #expect(heal == [ipt(1, "-D HAC-OUT -d 198.18.156.13 \(tag)")])
        // Fewer receivers than senders: the receivers' inbound rules.
        let many = try plan(.partitionOneWay(from: ["host-1", "host-2"], to: ["host-3"]))
        #expect(many.inject == [restore(3, ["-A HAC-IN -s 198.18.156.11", "-A HAC-IN -s 198.18.156.12"])])
    }

    @Test func isolateHost_dropsEverythingOnEth0BothWays() throws {
        let fault = try plan(.isolateHost("host-2", storageToo: false))
        #expect(fault.inject == [restore(2, ["-A HAC-IN -i eth0", "-A HAC-OUT -o eth0"])])
        #expect(fault.heal == [restore(2, ["-D HAC-IN -i eth0", "-D HAC-OUT -o eth0"])])
        let tag = "-m comment --comment hac-a3f09c-s7 -j DROP"
        #expect(fault.resource?.undo == [ipt(2, "-D HAC-IN -i eth0 \(tag)"), ipt(2, "-D HAC-OUT -o eth0 \(tag)")])
    }

    @Test func isolateHost_withStorage_alsoUnmountsOnlyTheIPDatastoresTheHostMounts() throws {
        let fault = try plan(.isolateHost("host-1", storageToo: true))
        #expect(fault.inject == [restore(1, ["-A HAC-IN -i eth0", "-A HAC-OUT -o eth0"]), .run(inMount("host-1", "umount -l /vmfs/volumes/ds-2"))])
        #expect(fault.heal == [
            restore(1, ["-D HAC-IN -i eth0", "-D HAC-OUT -o eth0"]),
            .run(inMount("host-1", "mount --bind /var/lib/hachaos/runs/a3f09c/datastores/ds-2 /vmfs/volumes/ds-2")),
        ])
        // host-3 mounts no IP storage: network only.
        #expect(try plan(.isolateHost("host-3", storageToo: true)).inject.count == 1)
    }

    @Test func dropIsolationAddress_dropsOutgoingICMPToTheGateway() throws {
        let fault = try plan(.dropIsolationAddress("host-3"))
        #expect(fault.inject == [restore(3, ["-A HAC-OUT -d 198.18.156.1 -p icmp"])])
        #expect(fault.heal == [restore(3, ["-D HAC-OUT -d 198.18.156.1 -p icmp"])])
        #expect(fault.resource?.undo == [ipt(3, "-D HAC-OUT -d 198.18.156.1 -p icmp -m comment --comment hac-a3f09c-s7 -j DROP")])
    }

    @Test func packetLoss_usesStatisticMatchInAndOut() throws {
        let fault = try plan(.packetLoss("host-1", probability: 0.3))
        #expect(fault.inject == [restore(1, [
            "-A HAC-IN -i eth0 -m statistic --mode random --probability 0.3",
            "-A HAC-OUT -o eth0 -m statistic --mode random --probability 0.3",
        ])])
        #expect(fault.heal == deleting(fault.inject))
        #expect(throws: NetnsPlanError.self) { try commands(.packetLoss("host-1", probability: 1.5)) }
    }

    @Test func managementNetworkOutage_isolatesEveryHost() throws {
        let fault = try plan(.managementNetworkOutage)
        #expect(fault.inject == (1...3).map { restore($0, ["-A HAC-IN -i eth0", "-A HAC-OUT -o eth0"]) })
        #expect(fault.heal == deleting(fault.inject))
        let (inject, heal) = try commands(.managementNetworkOutage)
        #expect(inject.count == 6 && heal.count == 6)
    }

    // MARK: - Storage faults

    @Test func unmountDatastore_lazilyUnmountsInEachNamedHostAndHealBindsAgain() throws {
        let (inject, heal) = try commands(.unmountDatastore("ds-1", hosts: ["host-1", "host-3"]))
        #expect(inject == [inMount("host-1", "umount -l /vmfs/volumes/ds-1"), inMount("host-3", "umount -l /vmfs/volumes/ds-1")])
        #expect(heal == [
            inMount("host-1", "mount --bind /var/lib/hachaos/runs/a3f09c/datastores/ds-1 /vmfs/volumes/ds-1"),
            inMount("host-3", "mount --bind /var/lib/hachaos/runs/a3f09c/datastores/ds-1 /vmfs/volumes/ds-1"),
        ])
        #expect(try plan(.unmountDatastore("ds-1", hosts: ["host-1"])).resource?.undo == [heal[0]])
    }

    @Test func unmountDatastore_whenHostDoesNotMountIt_throws() {
        #expect(throws: NetnsPlanError.self) { try commands(.unmountDatastore("ds-2", hosts: ["host-3"])) }
        #expect(throws: NetnsPlanError.self) { try commands(.unmountDatastore("ds-9", hosts: ["host-1"])) }
    }

    @Test func pdl_mountsAReadOnlyTmpfsHoldingOnlyThePDLMarker() throws {
        let (inject, heal) = try commands(.pdlDatastore("ds-2", hosts: ["host-2"]))
        #expect(inject == [
            inMount("host-2", "mount -t tmpfs -o size=64k,mode=0755,nosuid,nodev hac-a3f09c-pdl /vmfs/volumes/ds-2"),
            inMount("host-2", "touch /vmfs/volumes/ds-2/.pdl"),
            inMount("host-2", "mount -o remount,ro /vmfs/volumes/ds-2"),
        ])
        #expect(heal == [inMount("host-2", "umount -l /vmfs/volumes/ds-2")])
    }

    @Test func readOnlyDatastore_remountsTheBindReadOnlyAndBack() throws {
        let (inject, heal) = try commands(.readOnlyDatastore("ds-1", hosts: ["host-1"]))
        #expect(inject == [inMount("host-1", "mount -o remount,ro,bind /vmfs/volumes/ds-1")])
        #expect(heal == [inMount("host-1", "mount -o remount,rw,bind /vmfs/volumes/ds-1")])
    }

    // MARK: - Process faults

    @Test func killAgent_staysDown_writesTheControlFileThenKillsByPID() throws {
        let fault = try plan(.killAgent("host-2", staysDown: true))
        #expect(fault.inject == [
            .writeFile(path: "/var/lib/hachaos/runs/a3f09c/nodes/host-2/control/agent.down", contents: ""),
            .run(["kill", "-9", "201"]),
        ])
        #expect(fault.heal == [.removeFile(path: "/var/lib/hachaos/runs/a3f09c/nodes/host-2/control/agent.down")])
        let restartable = try commands(.killAgent("host-2", staysDown: false))
        #expect(restartable.inject == [["kill", "-9", "201"]] && restartable.heal.isEmpty)
    }

    @Test func killHostd_killsHostdByPID() throws {
        #expect(try commands(.killHostd("host-3", staysDown: false)).inject == [["kill", "-9", "302"]])
        let fault = try plan(.killHostd("host-3", staysDown: true))
        #expect(fault.inject.first == .writeFile(path: "/var/lib/hachaos/runs/a3f09c/nodes/host-3/control/hostd.down", contents: ""))
    }

    @Test func killVM_killsTheVMProcessByPID() throws {
        #expect(try commands(.killVM("vm-01")) == ([["kill", "-9", "250"]], []))
        #expect(throws: NetnsPlanError.self) { try commands(.killVM("vm-99")) }
    }

    @Test func stopAgent_stopsAndContinuesThePID() throws {
        #expect(try commands(.stopAgent("host-1")) == ([["kill", "-STOP", "101"]], [["kill", "-CONT", "101"]]))
    }

    @Test func powerOffHost_freezesKillsEveryMemberThawsAndHealStartsTheNode() throws {
        let fault = try plan(.powerOffHost("host-1"))
        let freezer = "/sys/fs/cgroup/freezer/hachaos/a3f09c/host-1"
        #expect(fault.inject == [
            .writeFile(path: "\(freezer)/freezer.state", contents: "FROZEN"),
            .awaitFileContents(path: "\(freezer)/freezer.state", contents: "FROZEN", timeout: .seconds(10)),
            .signalCgroup(cgroupProcs: "\(freezer)/cgroup.procs", signal: "9"),
            .writeFile(path: "\(freezer)/freezer.state", contents: "THAWED"),
            .awaitCgroupEmpty(cgroupProcs: "\(freezer)/cgroup.procs", timeout: .seconds(10)),
            // A powered-off host answers nothing, not even ICMP from its namespace's kernel.
            .run(["ip", "-n", "hac-a3f09c-h1", "link", "set", "eth0", "down"]),
        ])
        #expect(fault.heal == [linkUp(1), .startNode("host-1")])
    }

    @Test func shutdownHost_isAMarkerForTheBackend() throws {
        let fault = try plan(.shutdownHost("host-2"))
        let down = ["ip", "-n", "hac-a3f09c-h2", "link", "set", "eth0", "down"]
        #expect(fault.inject == [.shutdownHost("host-2"), .run(down)])
        #expect(fault.heal == [linkUp(2), .startNode("host-2")])
    }

    @Test func freezeHost_writesTheFreezerState() throws {
        let fault = try plan(.freezeHost("host-3"))
        let state = "/sys/fs/cgroup/freezer/hachaos/a3f09c/host-3/freezer.state"
        #expect(fault.inject == [.writeFile(path: state, contents: "FROZEN")])
        #expect(fault.heal == [.writeFile(path: state, contents: "THAWED")])
    }

    @Test func restartHost_powersOffThenStartsTheNodeAtOnce() throws {
        let fault = try plan(.restartHost("host-2"))
        #expect(fault.inject.count == 8 && fault.inject.last == .startNode("host-2"))
        #expect(Array(fault.inject.suffix(3)) == [.run(["ip", "-n", "hac-a3f09c-h2", "link", "set", "eth0", "down"]), linkUp(2), .startNode("host-2")])
        #expect(fault.heal.isEmpty)
    }

    @Test func controllerDown_stopsAndContinuesTheControllerPID() throws {
        #expect(try commands(.controllerDown) == ([["kill", "-STOP", "50"]], [["kill", "-CONT", "50"]]))
        var noController = goldenRuntime
        noController.controllerPID = nil
        #expect(throws: NetnsPlanError.self) { try planner.faultPlan(.controllerDown, step: 1, layout: goldenLayout(), runtime: noController) }
    }

    @Test func guestHang_togglesWithUSR1BothWays() throws {
        #expect(try commands(.guestHang("vm-01")) == ([["kill", "-USR1", "250"]], [["kill", "-USR1", "250"]]))
    }

    @Test func userOperations_areControllerRequests() throws {
        #expect(try plan(.userPowerOff("vm-01")).inject == [.controllerRequest(.powerOff("vm-01"))])
        #expect(try plan(.userPowerOn("vm-02", host: "host-3")).inject == [.controllerRequest(.powerOn("vm-02", host: "host-3"))])
        #expect(throws: NetnsPlanError.self) { try plan(.userPowerOn("vm-02", host: "host-9")) }
    }

    @Test func everyFaultKind_hasAPlan_andNetworkAndStorageFaultsJournalTheirHealAsUndo() throws {
        let faults: [Fault] = [
            .partition(groups: [["host-1"], ["host-2"]]), .partitionOneWay(from: ["host-1"], to: ["host-2"]),
            .isolateHost("host-1", storageToo: true), .dropIsolationAddress("host-1"), .packetLoss("host-1", probability: 0.5),
            .managementNetworkOutage, .unmountDatastore("ds-1", hosts: ["host-1"]), .pdlDatastore("ds-1", hosts: ["host-1"]),
            .readOnlyDatastore("ds-1", hosts: ["host-1"]), .killAgent("host-1", staysDown: true), .killHostd("host-1", staysDown: false),
            .killVM("vm-01"), .stopAgent("host-1"), .powerOffHost("host-1"), .shutdownHost("host-1"), .freezeHost("host-1"),
            .restartHost("host-1"), .controllerDown, .guestHang("vm-01"), .userPowerOff("vm-01"), .userPowerOn("vm-01", host: "host-1"),
        ]
        #expect(Set(faults.map(\.kind)).count == 21)
        for fault in faults {
            let plan = try plan(fault, step: 3)
            #expect(!plan.inject.isEmpty, "\(fault)")
            #expect(plan.tag == "hac-a3f09c-s3")
            if fault.kind.hasPrefix("network.") || fault.kind.hasPrefix("storage.") {
                #expect(plan.resource?.undo == plan.healArgv, "\(fault)")
                #expect(plan.resource?.name == "hac-a3f09c-s3")
            }
            // No argv ever names a process by name, flushes a table or touches a host chain.
            for argv in plan.injectArgv + plan.healArgv {
                #expect(!["pkill", "killall"].contains(argv[0]))
                #expect(!argv.contains("-F") && !argv.contains("--flush"))
                if argv.contains("iptables") { #expect(argv[0...2] == ["ip", "netns", "exec"] && argv[3].hasPrefix("hac-a3f09c-h")) }
            }
            // A restore never flushes, and only adds or deletes its own tagged rules in HAC-IN/HAC-OUT.
            for action in plan.inject + plan.heal {
                guard case .restore(let netns, _, let rules) = action else { continue }
                #expect(netns.hasPrefix("hac-a3f09c-h"))
                #expect(action.restoreCommand?.argv.contains("--noflush") == true)
                #expect(rules.allSatisfy { ["-A", "-D"].contains($0[0]) && ["HAC-IN", "HAC-OUT"].contains($0[1]) && $0.contains("hac-a3f09c-s3") }, "\(fault)")
            }
        }
    }

    // MARK: - Bring-up and tear-down

    @Test func bringUp_64Hosts_everyNamespaceKnowsEveryOtherAddressAsAPermanentNeighbour() throws {
        let hosts = (1...64).map { (HostID("host-\($0)"), [DatastoreID("ds-1")]) }
        let layout = try NetnsLayout(runID: goldenRun, hosts: hosts, datastores: ["ds-1"], runDirectory: "/r", subnetIndex: 300)
        let all = [layout.bridgeAddress] + layout.endpoints.map(\.address)
        // MACs are unique, unicast and locally administered (first octet 0x02).
        let macs = [layout.bridgeMAC] + layout.endpoints.map(\.mac)
        #expect(Set(macs).count == macs.count)
        #expect(macs.allSatisfy { $0.hasPrefix("02:ac:c6:13:2c:") && $0.count == 17 })
        #expect(NetnsLayout.mac(of: "198.19.44.74") == "02:ac:c6:13:2c:4a")
        let batches = planner.bringUp(layout).flatMap(\.actions).compactMap { action -> (String, String)? in
            guard case .runWithInput(let argv, let input) = action, argv.count == 5, argv[3] == "-batch" else { return nil }
            return (argv[2], input)
        }
        #expect(batches.count == 66)
        for (netns, input) in batches {
            let me = try #require(layout.endpoints.first { $0.netns == netns })
            let neighbours = input.split(separator: "\n").filter { $0.hasPrefix("neigh replace ") }
            #expect(neighbours.count == all.count - 1, "\(netns)")
            for address in all where address != me.address {
                #expect(neighbours.contains("neigh replace \(address) lladdr \(NetnsLayout.mac(of: address)) dev eth0 nud permanent"), "\(netns) → \(address)")
            }
        }
    }

    @Test func bringUp_oneHost_goldenSteps() throws {
        let layout = try NetnsLayout(runID: goldenRun, hosts: [("host-1", ["ds-1"])], datastores: ["ds-1"], runDirectory: "/r")
        let steps = planner.bringUp(layout)
        // Every other address of the run (bridge .254, gateway .1, controller .2, host .11) is a
        // permanent neighbour with its fixed MAC, 02:ac + the address in hex (198.18.156 = c6:12:9c).
        let neighbours = [("198.18.156.254", "02:ac:c6:12:9c:fe"), ("198.18.156.1", "02:ac:c6:12:9c:01"),
                          ("198.18.156.2", "02:ac:c6:12:9c:02"), ("198.18.156.11", "02:ac:c6:12:9c:0b")]
        func batch(_ netns: String, _ address: String) -> NetnsAction {
            let neigh = neighbours.filter { $0.0 != address }.map { "neigh replace \($0.0) lladdr \($0.1) dev eth0 nud permanent\n" }.joined()
            return .runWithInput(["ip", "-n", netns, "-batch", "-"], input: "link set lo up\naddr add \(address)/24 dev eth0\nlink set eth0 up\n" + neigh)
        }
        func veth(_ node: String, _ mac: String) -> NetnsAction {
            .run(["ip", "link", "add", "haca3f09c\(node)", "up", "master", "haca3f09cbr", "type", "veth",
                  "peer", "name", "eth0", "address", mac, "netns", "hac-a3f09c-\(node)"])
        }
        let golden: [NetnsAction] = [
            .run(["mkdir", "-p", "-m", "0755", "/run/hachaos"]),
            .run(["mkdir", "-p", "-m", "0700", "/run/hachaos/a3f09c/mnt"]),
            .run(["mkdir", "-p", "/vmfs/volumes"]),
            .run(["mkdir", "-p", "/r/datastores/ds-1", "/r/nodes/host-1/config", "/r/nodes/host-1/control", "/r/nodes/host-1/run", "/r/nodes/host-1/logs"]),
            .run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "hac-a3f09c-mnt", "/run/hachaos/a3f09c/mnt"]),
            .run(["mount", "--make-private", "/run/hachaos/a3f09c/mnt"]),
            .writeFile(path: "/run/hachaos/a3f09c/mnt/host-1", contents: ""),
            .run(["unshare", "--mount=/run/hachaos/a3f09c/mnt/host-1", "--propagation", "private",
                  "mount", "-t", "tmpfs", "-o", "size=1m,mode=0755,nosuid,nodev", "hac-a3f09c-vmfs", "/vmfs/volumes"]),
            .run(inMount("host-1", "mkdir /vmfs/volumes/ds-1")),
            .run(inMount("host-1", "mount --bind /r/datastores/ds-1 /vmfs/volumes/ds-1")),
            .run(inMount("host-1", "mount -o remount,ro /vmfs/volumes")),
            .run(inMount("host-1", "umount -l /run/hachaos/a3f09c/mnt")),
            .run(["mkdir", "-p", "/sys/fs/cgroup/freezer/hachaos", "/sys/fs/cgroup/pids/hachaos", "/sys/fs/cgroup/memory/hachaos"]),
            .run(["mkdir", "/sys/fs/cgroup/freezer/hachaos/a3f09c", "/sys/fs/cgroup/pids/hachaos/a3f09c", "/sys/fs/cgroup/memory/hachaos/a3f09c"]),
            .run(["mkdir", "/sys/fs/cgroup/freezer/hachaos/a3f09c/host-1", "/sys/fs/cgroup/pids/hachaos/a3f09c/host-1", "/sys/fs/cgroup/memory/hachaos/a3f09c/host-1"]),
            .writeFile(path: "/sys/fs/cgroup/pids/hachaos/a3f09c/host-1/pids.max", contents: "\(layout.limits.pids)"),
            .writeFile(path: "/sys/fs/cgroup/memory/hachaos/a3f09c/host-1/memory.limit_in_bytes", contents: "\(layout.limits.memoryBytes)"),
            .run(["mkdir", "/sys/fs/cgroup/freezer/hachaos/a3f09c/controller", "/sys/fs/cgroup/pids/hachaos/a3f09c/controller", "/sys/fs/cgroup/memory/hachaos/a3f09c/controller"]),
            .writeFile(path: "/sys/fs/cgroup/pids/hachaos/a3f09c/controller/pids.max", contents: "\(layout.limits.pids)"),
            .writeFile(path: "/sys/fs/cgroup/memory/hachaos/a3f09c/controller/memory.limit_in_bytes", contents: "\(layout.limits.memoryBytes)"),
            .run(["ip", "link", "add", "name", "haca3f09cbr", "address", "02:ac:c6:12:9c:fe", "up", "type", "bridge"]),
            .run(["ip", "addr", "add", "198.18.156.254/24", "dev", "haca3f09cbr"]),
            .run(["ip", "netns", "add", "hac-a3f09c-gw"]),
            .run(["ip", "netns", "add", "hac-a3f09c-vc"]),
            .run(["ip", "netns", "add", "hac-a3f09c-h1"]),
            veth("gw", "02:ac:c6:12:9c:01"),
            batch("hac-a3f09c-gw", "198.18.156.1"),
            veth("vc", "02:ac:c6:12:9c:02"),
            batch("hac-a3f09c-vc", "198.18.156.2"),
            veth("h1", "02:ac:c6:12:9c:0b"),
            batch("hac-a3f09c-h1", "198.18.156.11"),
            // Both chains and their jumps in one iptables-restore --noflush.
            .restore(netns: "hac-a3f09c-h1", wait: 5, rules: [["-N", "HAC-IN"], ["-N", "HAC-OUT"], ["-A", "INPUT", "-j", "HAC-IN"], ["-A", "OUTPUT", "-j", "HAC-OUT"]]),
        ]
        #expect(steps.flatMap(\.actions) == golden)
        #expect(steps.last?.actions.first?.restoreCommand?.input == "*filter\n-N HAC-IN\n-N HAC-OUT\n-A INPUT -j HAC-IN\n-A OUTPUT -j HAC-OUT\nCOMMIT\n")
        // Every step that creates something journals it first; every resource name carries the run id unless shared.
        for step in steps {
            guard case .plan(let resource) = step.journal else {
                Issue.record("bring-up step without a journal entry: \(step)")
                continue
            }
            #expect(resource.shared || resource.name.contains("a3f09c") || resource.name == "/r", "\(resource)")
        }
        // No default route, no NAT, nothing in the machine's own iptables.
        let all = steps.flatMap(\.actions).flatMap { $0.restoreCommand.map { [$0.argv + [$0.input]] } ?? $0.equivalentArgv }
            + steps.flatMap(\.actions).compactMap { if case .runWithInput(let argv, let input) = $0 { argv + [input] } else { nil } }
        #expect(!all.contains { $0.contains { $0.contains("default") || $0.contains("MASQUERADE") || $0.contains("nat") } })
        // iptables only ever runs inside a node namespace of the run.
        #expect(all.filter { $0.contains { $0.hasPrefix("iptables") } }.allSatisfy {
            $0[0...3] == ["ip", "netns", "exec", "hac-a3f09c-h1"] || $0[0...1] == ["nsenter", "--net=/run/netns/hac-a3f09c-h1"]
        })
        // Interface names fit the kernel's 15 characters, even for host 200.
        #expect("haca3f09ch200".count <= 15)
    }

    @Test func bringUp_journalUndo_removesWhatEachStepCreates() throws {
        let layout = try NetnsLayout(runID: goldenRun, hosts: [("host-1", ["ds-1"])], datastores: ["ds-1"], runDirectory: "/r")
        let undo = planner.bringUp(layout).compactMap { step -> JournalResource? in
            if case .plan(let resource) = step.journal { resource } else { nil }
        }
        #expect(undo.first { $0.name == "hac-a3f09c-h1" }?.undo == [["ip", "netns", "del", "hac-a3f09c-h1"]])
        #expect(undo.first { $0.name == "haca3f09cbr" }?.undo == [["ip", "link", "del", "haca3f09cbr"]])
        #expect(undo.first { $0.name == "/run/hachaos/a3f09c/mnt/host-1" }?.undo == [["umount", "-l", "/run/hachaos/a3f09c/mnt/host-1"]])
        #expect(undo.first { $0.name == "hac-a3f09c-h1/HAC-IN+HAC-OUT" }?.undo == [
            ipt(1, "-D INPUT -j HAC-IN"), ipt(1, "-F HAC-IN"), ipt(1, "-X HAC-IN"),
            ipt(1, "-D OUTPUT -j HAC-OUT"), ipt(1, "-F HAC-OUT"), ipt(1, "-X HAC-OUT"),
        ])
        #expect(undo.first { $0.name == "/r" }?.undo == [])
        #expect(undo.filter(\.shared).map(\.name) == ["/run/hachaos", "/vmfs/volumes", "hachaos", "/run/netns"])
    }

    @Test func tearDown_removesEveryJournaledResourceAndKillsProcessesFirst() throws {
        let layout = try goldenLayout()
        let up = planner.bringUp(layout).compactMap { step -> String? in
            if case .plan(let resource) = step.journal { "\(resource.kind.rawValue) \(resource.name)" } else { nil }
        }
        let down = planner.tearDown(layout)
        let removed = down.compactMap { step -> String? in
            if case .remove(let kind, let name) = step.journal { "\(kind.rawValue) \(name)" } else { nil }
        }
        #expect(Set(up) == Set(removed))
        #expect(up.count == removed.count)
        // Processes die before anything is removed.
        let firstRemoval = down.firstIndex { if case .remove = $0.journal { true } else { false } }!
        #expect(down[..<firstRemoval].allSatisfy { step in step.actions.allSatisfy { if case .run = $0 { false } else { true } } })
        #expect(down.flatMap(\.argv).contains(["ip", "netns", "del", "hac-a3f09c-h3"]))
        #expect(down.flatMap(\.argv).last == ["rmdir", "/run/hachaos"])
    }

    @Test func stepCounts_forThreeAndEightHosts() throws {
        for (count, expectedSteps) in [(3, 29), (8, 54)] {
            let layout = try NetnsLayout(
                runID: goldenRun, hosts: (1...count).map { (HostID("host-\($0)"), [DatastoreID("ds-1"), "ds-2"]) },
                datastores: ["ds-1", "ds-2"], runDirectory: "/r"
            )
            let steps = planner.bringUp(layout)
            #expect(steps.count == expectedSteps, "\(count) hosts")
        }
    }
}
