import HACore
import HASim
import HATestKit
import Testing

@Suite struct DeterminismTests {
    static func trace(seed: UInt64) -> SimulationTrace {
        var sim = Fixtures.simulator(hosts: 5, vmsPerHost: 2, seed: seed, isolationResponse: .powerOff)
        sim.run(until: .seconds(40))
        sim.isolate("host-2", storageToo: false)
        sim.run(until: .seconds(80))
        sim.powerOff("host-5")
        sim.run(until: .seconds(200))
        return sim.finish()
    }

    @Test func sameSeed_givesTheSameHistoryByteForByte() {
        let a = Self.trace(seed: 42), b = Self.trace(seed: 42)
        #expect(a.events == b.events, "replay: swift test --filter DeterminismTests (seed 42)")
        #expect(a.vmInstances == b.vmInstances)
        #expect(a.diskLocks == b.diskLocks)
        #expect(a.stepsExecuted == b.stepsExecuted)
    }

    @Test func differentSeeds_giveDifferentInterleavings() {
        let a = Self.trace(seed: 1), b = Self.trace(seed: 2)
        #expect(a.events.map(\.time) != b.events.map(\.time))
    }

    @Test func simulator_neverSleeps_andElectsOneMaster() {
        var sim = Fixtures.simulator(hosts: 8)
        sim.run(until: .seconds(30))
        #expect(sim.masters == ["host-8"])
        #expect(sim.now == .seconds(30))
    }

    @Test func powerOffOfMaster_newMasterAndEveryVMRunsOnce() {
        var sim = Fixtures.simulator(hosts: 4, vmsPerHost: 2)
        sim.run(until: .seconds(40))
        sim.powerOff("host-4")
        sim.run(until: .seconds(140))
        #expect(sim.masters == ["host-3"])
        let live = sim.liveInstances
        #expect(live.count == 8, "every VM runs again: \(live)")
        #expect(live.values.allSatisfy { $0.count == 1 && $0.first != "host-4" })
    }
}
