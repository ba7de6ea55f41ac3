import HACore
import HASim
import HATestKit
import Testing
import ChaosKit

@Test func speedProbe() {
    let clock = ContinuousClock()
    let start = clock.now
    var simulated = 0.0
    var steps = 0
    for seed in 1...50 {
        let scenario = ScheduleGenerator.scenario(seed: UInt64(seed), hosts: 8, vms: 16)
        let h = SimBackend().runSynchronously(scenario, options: RunOptions(timeScale: 1, seed: UInt64(seed)))
        simulated += h.duration
        steps += h.events.count
    }
    let wall = start.duration(to: clock.now).inSeconds
    print("SPEED simulated \(simulated) s in \(wall) s = \(simulated / wall)x, events \(steps)")
}
