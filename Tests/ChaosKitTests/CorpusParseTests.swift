import ChaosKit
import Foundation
import Testing

/// Every file of the corpus parses (nothing in faults/ may be broken).
@Test func corpus_everyScenarioFileParses() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let scenarios = try ScenarioLoader.load(paths: [root.appendingPathComponent("faults").path])
    #expect(scenarios.count >= 27)
}
