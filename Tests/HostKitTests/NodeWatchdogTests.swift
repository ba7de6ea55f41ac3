import Foundation
import HACore
import HostKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `ha-node` supervising the real `hostd` and a stand-in agent (NODES.md §1).
@Suite(.serialized, .enabled(if: Binaries.available, Comment(rawValue: Binaries.missingReason)), .timeLimit(.minutes(1)))
struct NodeWatchdogTests {
    static let delayMs = 300

    /// A stand-in ha-agent: sleeps forever; `exec -a` keeps its arguments (with the sandbox
    /// path) visible in /proc, so the sandbox can find it.
    static func writeFakeAgent(_ sandbox: Sandbox) throws -> String {
        try sandbox.write("#!/bin/bash\nexec -a \"fake-agent $*\" sleep 100000\n", to: "fake-agent.sh")
        chmod(sandbox.path("fake-agent.sh"), 0o755)
        return sandbox.path("fake-agent.sh")
    }

    static func pid(_ node: TestNode, _ name: String) -> pid_t? {
        node.sandbox.read("node/run/\(name).pid").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func alive(_ node: TestNode, _ name: String) -> pid_t? {
        guard let pid = pid(node, name), ProcessControl.isRunning(pid: pid, commandLineContains: node.directory) else { return nil }
        return pid
    }

    @Test func haNode_restartsKilledChildren_respectsDownFiles_andStopsOnSIGTERM() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let node = try TestNode(sandbox)
        let agent = try Self.writeFakeAgent(sandbox)
        var arguments = ["--node-dir", node.directory, "--host", "host-1", "--hostd", Binaries.hostd, "--agent", agent,
                         "--watchdog-delay-ms", "\(Self.delayMs)", "--agent-arg", "--bind", "--agent-arg", "127.0.0.1:8182"]
        for argument in node.hostdArguments.dropFirst(4) { arguments += ["--hostd-arg", argument] }
        let watchdog = try sandbox.spawn(Binaries.haNode, arguments, output: "ha-node.out")

        #expect(await eventually { Self.alive(node, "hostd") != nil && Self.alive(node, "ha-agent") != nil })
        let firstAgent = try #require(Self.alive(node, "ha-agent"))
        #expect(ProcessControl.commandLine(of: firstAgent).joined(separator: " ").contains("--bind 127.0.0.1:8182"))
        #expect(await eventually { (try? await node.client.send(.list)) != nil }, "the supervised hostd serves its socket")

        // A killed agent comes back after the delay, with a new PID file.
        kill(firstAgent, SIGKILL)
        let killedAt = ContinuousClock.now
        #expect(await eventually { (Self.alive(node, "ha-agent") ?? firstAgent) != firstAgent })
        #expect(killedAt.duration(to: .now) >= .milliseconds(Self.delayMs - 20), "restarted before the watchdog delay")

        // With control/agent.down it stays down; removing the file brings it back within the delay.
        try sandbox.write("", to: "node/control/agent.down")
        let secondAgent = try #require(Self.alive(node, "ha-agent"))
        kill(secondAgent, SIGKILL)
        #expect(await eventually { Self.pid(node, "ha-agent") == nil })
        try await Task.sleep(for: .milliseconds(3 * Self.delayMs))
        #expect(Self.alive(node, "ha-agent") == nil, "agent.down must keep the agent down")
        FileOps.remove(sandbox.path("node/control/agent.down"))
        let removedAt = ContinuousClock.now
        #expect(await eventually { Self.alive(node, "ha-agent") != nil })
        #expect(removedAt.duration(to: .now) < .milliseconds(Self.delayMs + 1500))

        // hostd too: killed, restarted, and the new one serves the socket again.
        let firstHostd = try #require(Self.alive(node, "hostd"))
        try sandbox.write("", to: "node/control/hostd.down")
        kill(firstHostd, SIGKILL)
        try await Task.sleep(for: .milliseconds(2 * Self.delayMs))
        #expect(Self.alive(node, "hostd") == nil)
        FileOps.remove(sandbox.path("node/control/hostd.down"))
        #expect(await eventually { (Self.alive(node, "hostd") ?? firstHostd) != firstHostd })
        #expect(await eventually { (try? await node.client.send(.list)) != nil })

        // SIGTERM: both children stopped, exit 0.
        let lastAgent = try #require(Self.alive(node, "ha-agent"))
        let lastHostd = try #require(Self.alive(node, "hostd"))
        kill(watchdog, SIGTERM)
        #expect(await sandbox.waitForExit(watchdog, timeout: .seconds(10)) == .exited(code: 0))
        #expect(!ProcessControl.isAlive(lastAgent))
        #expect(!ProcessControl.isAlive(lastHostd))
        let logs = sandbox.read("node/logs/hostd.log") ?? ""
        #expect(logs.contains("hostd serving"), "hostd's stderr goes to N/logs/hostd.log")
    }
}
