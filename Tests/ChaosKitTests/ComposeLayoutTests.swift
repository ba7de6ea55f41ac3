import ChaosKit
import Foundation
import HACore
import Testing

/// The compose backend's model (pure): names, addresses, mounts, labels, the rendered compose
/// file, the reaper's label sweep and the container PID mapping.
@Suite struct ComposeLayoutTests {
    func layout(manual: Bool = false) throws -> ComposeLayout {
        let netns = try goldenLayout()
        var commands: [HostID: [String]] = [:]
        for host in netns.hosts { commands[host.id] = ["/hachaos/bin/ha-node", "--node-dir", host.nodeDirectory, "--host", host.id.rawValue] }
        return ComposeLayout(netns: netns, image: "hachaos/node:latest", nodeCommands: commands, manual: manual)
    }

    @Test func containers_followTheNetnsNamesAndAddresses() throws {
        let layout = try layout()
        #expect(layout.project == "hac-a3f09c" && layout.networkName == "hac-a3f09c-net" && layout.bridgeName == "haca3f09cbr")
        #expect(layout.services.map(\.name) == ["hac-a3f09c-gw", "hac-a3f09c-vc", "hac-a3f09c-h1", "hac-a3f09c-h2", "hac-a3f09c-h3"])
        #expect(layout.gateway.address == "198.18.156.1" && layout.controller.address == "198.18.156.2")
        #expect(layout.service(of: "host-2")?.address == "198.18.156.12")
        #expect(layout.gatewayAddress == "198.18.156.254" && layout.subnet == "198.18.156.0/24")
        #expect(layout.services.allSatisfy { $0.labels["hachaos.run"] == "a3f09c" })
        #expect(layout.service(of: "host-3")?.labels["hachaos.host"] == "host-3")
    }

    @Test func hostContainer_mountsItsNodeFolderAtTheSamePath_andOnlyItsOwnDatastores() throws {
        let h3 = try #require(try layout().service(of: "host-3"))
        let run = "/var/lib/hachaos/runs/a3f09c"
        #expect(h3.binds == [
            "\(run)/nodes/host-3:\(run)/nodes/host-3",
            "\(run)/datastores:\(run)/datastores",
            "\(run)/datastores/ds-1:/vmfs/volumes/ds-1",
        ])
        // ha-node is PID 1 (exec), its output appended to the node's log folder.
        #expect(h3.command.prefix(4) == ["/bin/sh", "-c", "exec \"$@\" >>\"$0\" 2>&1", "\(run)/nodes/host-3/logs/ha-node.log"])
        #expect(h3.command.dropFirst(4).first == "/hachaos/bin/ha-node")
    }

    @Test func controller_reachesEveryHostdSocketThroughBindMounts() throws {
        let vc = try layout().controller
        let run = "/var/lib/hachaos/runs/a3f09c"
        #expect(vc.binds.contains("\(run)/nodes/host-2/run:\(run)/nodes/host-2/run"))
        #expect(vc.command.contains("host-2=\(run)/nodes/host-2/run/hostd.sock"))
        #expect(vc.command.contains("--listen") && vc.command.contains("198.18.156.2"))
    }

    @Test func containerSpec_isReadOnly_onTheRunNetwork_withLimits() throws {
        let layout = try layout()
        let spec = layout.containerSpec(try #require(layout.service(of: "host-1")), limits: .init(pids: 512, memoryBytes: 1 << 28))
        #expect(spec.readonlyRootfs)
        #expect(spec.network?.name == "hac-a3f09c-net" && spec.network?.ipv4 == "198.18.156.11")
        #expect(spec.pidsLimit == 512 && spec.memoryBytes == 1 << 28)
        #expect(spec.labels["hachaos.run"] == "a3f09c")
        let network = layout.networkSpec
        #expect(network.internal && network.subnet == "198.18.156.0/24" && network.gateway == "198.18.156.254")
        #expect(network.options["com.docker.network.bridge.name"] == "haca3f09cbr")
    }

    @Test func composeFile_isInternal_explicitSubnet_fixedAddresses_andDollarsEscaped() throws {
        let text = ComposeFile.render(try layout(), header: ["a header"])
        #expect(text.hasPrefix("# a header\nversion: \"2.4\"\n"))
        #expect(text.contains("    internal: true\n"))
        #expect(text.contains("        - subnet: \"198.18.156.0/24\"\n          gateway: \"198.18.156.254\"\n"))
        #expect(text.contains("        ipv4_address: \"198.18.156.13\"\n"))
        // The same fixed MAC as the harness gives the container (02:ac + the address).
        #expect(text.contains("        ipv4_address: \"198.18.156.13\"\n    mac_address: \"02:ac:c6:12:9c:0d\"\n"))
        #expect(text.contains("    read_only: true\n"))
        // docker-compose interpolates `$`: the shell's "$@" must be written "$$@".
        #expect(text.contains("\"exec \\\"$$@\\\" >>\\\"$$0\\\" 2>&1\""))
        #expect(!text.contains("exec \\\"$@"))
        #expect(text.contains("\"com.docker.network.bridge.name\": \"haca3f09cbr\""))
        #expect(text.contains("\"hachaos.run\": \"a3f09c\""))
        // Every line is either a comment, a key, or a list item: no tabs, no stray scalars.
        #expect(!text.contains("\t"))
    }

    @Test func manualRender_isNotARunForTheReaper() throws {
        let manual = try layout(manual: true)
        #expect(manual.services.allSatisfy { $0.labels["hachaos.run"] == nil && $0.labels["hachaos.manual"] == "a3f09c" })
        #expect(manual.networkSpec.options.isEmpty, "Docker names the bridge: the reaper's link sweep must not match it")
        let text = ComposeFile.render(manual)
        #expect(!text.contains("hachaos.run") && !text.contains("bridge.name"))
    }

    @Test func reaperSweep_removesContainersBeforeNetworks_onlyOfTargetRuns() {
        let a = RunID("a3f09c")!
        let b = RunID("b00000")!
        let leftovers = DockerLeftovers(
            containers: ["hac-a3f09c-h1": a, "hac-a3f09c-gw": a, "hac-b00000-h1": b], networks: ["hac-a3f09c-net": a, "hac-b00000-net": b]
        )
        #expect(leftovers.runIDs == [a, b])
        #expect(leftovers.undo(for: [a]) == [
            ["hachaos-docker", "container-rm", "hac-a3f09c-gw"], ["hachaos-docker", "container-rm", "hac-a3f09c-h1"],
            ["hachaos-docker", "network-rm", "hac-a3f09c-net"],
        ])
        #expect(leftovers.undo(for: []).isEmpty)
    }

    @Test func dockerUndo_rejectsMalformedOrUnknownVerbs() async {
        #expect(await DockerUndo.perform(["hachaos-docker", "container-rm"]) != nil)
        #expect(await DockerUndo.perform(["hachaos-docker", "explode", "x"]) != nil)
        #expect(DockerUndo.isUndo(DockerUndo.removeNetwork("n")) && !DockerUndo.isUndo(["ip", "link", "del", "x"]))
    }

    @Test func containerPIDs_mapsTheContainersView_toTheMachines() throws {
        // A fake /proc: 500 is the container's init (PID 1 inside), 501 its child (PID 7 inside),
        // 600 is outside the container's PID namespace.
        let proc = FileManager.default.temporaryDirectory.appendingPathComponent("hac-proc-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: proc) }
        for (pid, ns, nspid) in [(500, "pid:[4026532001]", "500\t1"), (501, "pid:[4026532001]", "501\t7"), (600, "pid:[4026531836]", "600")] {
            try FileManager.default.createDirectory(atPath: "\(proc)/\(pid)/ns", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(proc)/\(pid)/ns/pid", withDestinationPath: ns)
            try "Name:\tx\nNSpid:\t\(nspid)\nVmRSS:\t1 kB\n".write(toFile: "\(proc)/\(pid)/status", atomically: true, encoding: .utf8)
        }
        #expect(ContainerPIDs.map(initPID: 500, proc: proc) == [1: 500, 7: 501])
        #expect(ContainerPIDs.machinePID(of: 7, initPID: 500, proc: proc) == 501)
        #expect(ContainerPIDs.machinePID(of: 8, initPID: 500, proc: proc) == nil)
        #expect(ContainerPIDs.map(initPID: 999, proc: proc).isEmpty)
    }
}

@Suite struct ComposeFaultPlanTests {
    @Test func commandsInAContainersMountNamespace_enterItsPIDNamespaceToo() throws {
        var layout = try goldenLayout()
        layout.hosts[0].mountNamespaceFile = "/proc/4242/ns/mnt"
        let planned = try NetnsPlanner().faultPlan(.readOnlyDatastore("ds-1", hosts: ["host-1"]), step: 3, layout: layout, runtime: goldenRuntime)
        let plan = ComposeBackend.inContainers(planned)
        #expect(plan.injectArgv == [["nsenter", "--mount=/proc/4242/ns/mnt", "--pid=/proc/4242/ns/pid", "mount", "-o", "remount,ro,bind", "/vmfs/volumes/ds-1"]])
        #expect(plan.healArgv == [["nsenter", "--mount=/proc/4242/ns/mnt", "--pid=/proc/4242/ns/pid", "mount", "-o", "remount,rw,bind", "/vmfs/volumes/ds-1"]])
        #expect(plan.resource?.undo == plan.healArgv, "the journal's undo is the heal, as run")
        // iptables commands are untouched (they enter the network namespace by its handle).
        let partition = try NetnsPlanner().faultPlan(.partition(groups: [["host-1"], ["host-2"]]), step: 1, layout: layout, runtime: goldenRuntime)
        #expect(ComposeBackend.inContainers(partition) == partition)
    }
}
