import HACore
import HASim
import HATestKit
import Testing

@Test func smoke_printTimeline() {
    var sim = Fixtures.simulator(hosts: 4)
    sim.run(until: .seconds(40))
    let master = sim.masters
    print("masters at 40:", master)
    sim.powerOff("host-1")
    sim.run(until: .seconds(100))
    let trace = sim.finish()
    for e in trace.events where e.time > 39 { print(formatSeconds(e.time - 40), e.event.host, e.event.kind) }
    for i in trace.vmInstances { print(i) }
}
