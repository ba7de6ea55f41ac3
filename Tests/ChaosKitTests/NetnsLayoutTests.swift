import ChaosKit
import HACore
import Testing

@Suite struct NetnsLayoutTests {
    @Test func names_andAddresses_followTheRunID() throws {
        let layout = try goldenLayout()
        #expect(layout.subnetIndex == 156)
        #expect(layout.subnet == "198.18.156.0/24")
        #expect(layout.bridge == "haca3f09cbr" && layout.bridgeAddress == "198.18.156.254")
        #expect(layout.gateway == .init(netns: "hac-a3f09c-gw", veth: "haca3f09cgw", address: "198.18.156.1"))
        #expect(layout.controller == .init(netns: "hac-a3f09c-vc", veth: "haca3f09cvc", address: "198.18.156.2"))
        let h2 = try #require(layout.host("host-2"))
        #expect(h2.endpoint == .init(netns: "hac-a3f09c-h2", veth: "haca3f09ch2", address: "198.18.156.12"))
        #expect(h2.mountNamespaceFile == "/run/hachaos/a3f09c/mnt/host-2")
        #expect(h2.nodeDirectory == "/var/lib/hachaos/runs/a3f09c/nodes/host-2")
        #expect(layout.cgroup("memory", node: "host-2") == "/sys/fs/cgroup/memory/hachaos/a3f09c/host-2")
        #expect(layout.datastoreSource("ds-1") == "/var/lib/hachaos/runs/a3f09c/datastores/ds-1")
        #expect(layout.datastoreMountPoint("ds-1") == "/vmfs/volumes/ds-1")
        #expect(layout.nodeCommandPrefix(h2) == ["nsenter", "--net=/run/netns/hac-a3f09c-h2", "--mount=/run/hachaos/a3f09c/mnt/host-2", "--"])
    }

    @Test func subnetIndex_above255_usesTheUpperHalfOf198_18_0_0_15() throws {
        let layout = try NetnsLayout(runID: RunID("0001ff")!, hosts: [("host-1", [])], datastores: [], runDirectory: "/r", subnetIndex: 300)
        #expect(layout.subnet == "198.19.44.0/24")
        #expect(NetnsLayout.preferredSubnetIndex(for: RunID("0001ff")!) == 511)
    }

    @Test func twoHundredHosts_fit_andTheInterfaceNamesStayWithin15Characters() throws {
        let hosts = (1...200).map { (HostID("host-\($0)"), [DatastoreID]()) }
        let layout = try NetnsLayout(runID: goldenRun, hosts: hosts, datastores: [], runDirectory: "/r")
        #expect(layout.hosts.last?.address == "198.18.156.210")
        #expect(layout.endpoints.allSatisfy { $0.veth.count <= 15 })
        #expect(throws: NetnsLayoutError.self) {
            try NetnsLayout(runID: goldenRun, hosts: hosts + [("host-201", [])], datastores: [], runDirectory: "/r")
        }
    }

    @Test func unsafeOrUnknownNames_areRejected() {
        #expect(throws: NetnsLayoutError.self) { try NetnsLayout(runID: goldenRun, hosts: [("../etc", [])], datastores: [], runDirectory: "/r") }
        #expect(throws: NetnsLayoutError.self) { try NetnsLayout(runID: goldenRun, hosts: [("controller", [])], datastores: [], runDirectory: "/r") }
        #expect(throws: NetnsLayoutError.self) { try NetnsLayout(runID: goldenRun, hosts: [("host-1", ["ds-x"])], datastores: [], runDirectory: "/r") }
        #expect(throws: NetnsLayoutError.self) { try NetnsLayout(runID: goldenRun, hosts: [("host-1", [])], datastores: ["a b"], runDirectory: "/r") }
        #expect(throws: NetnsLayoutError.self) { try NetnsLayout(runID: goldenRun, hosts: [("host-1", [])], datastores: [], runDirectory: "relative") }
    }

    @Test func subnetCollision_takesTheNextFreeIndex() {
        let ipBriefAddr = """
            lo               UNKNOWN        127.0.0.1/8 ::1/128
            eth0             UP             10.0.2.15/24 fe80::1/64
            hacdeadbebr      UP             198.18.156.254/24
            other            UP             198.18.157.7/24
            wide             UP             198.19.0.1/23
            """
        let used = NetnsLayout.subnetIndicesInUse(ipBriefAddr: ipBriefAddr)
        #expect(used == [156, 157, 256, 257])
        #expect(NetnsLayout.chooseSubnetIndex(preferred: 156, inUse: used) == 158)
        #expect(NetnsLayout.chooseSubnetIndex(preferred: 511, inUse: [511]) == 0)
        #expect(NetnsLayout.chooseSubnetIndex(preferred: 3, inUse: Set(0..<512)) == nil)
        #expect(NetnsLayout.subnetIndicesInUse(ipBriefAddr: "x UP 198.16.0.1/14") == Set(0..<512))
    }

    @Test func runIDs_areSixLowercaseHexAndOurNamesAreRecognised() {
        #expect(RunID("a3f09c") != nil && RunID("A3F09C") == nil && RunID("a3f09") == nil && RunID("a3f09g") == nil)
        var generator = SplitMixForTests(seed: 7)
        let id = RunID.random(using: &generator)
        #expect(RunID.isValid(id.rawValue))
        #expect(NetnsLayout.runID(ofNamespace: "hac-a3f09c-h12") == goldenRun)
        #expect(NetnsLayout.runID(ofNamespace: "hac-a3f09c-gw") == goldenRun)
        #expect(NetnsLayout.runID(ofNamespace: "hac-a3f09c-x") == nil)
        #expect(NetnsLayout.runID(ofNamespace: "docker-1") == nil)
        #expect(NetnsLayout.runID(ofInterface: "haca3f09cbr") == goldenRun)
        #expect(NetnsLayout.runID(ofInterface: "haca3f09ch3@if2") == goldenRun)
        #expect(NetnsLayout.runID(ofInterface: "haca3f09cdeadbeef") == nil)
        #expect(NetnsLayout.runID(ofInterface: "eth0") == nil)
    }
}

/// A tiny seeded generator (SplitMix64).
struct SplitMixForTests: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
