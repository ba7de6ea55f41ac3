import Foundation
import HAAgentKit
import HACore
import HAWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ``ControllerClient`` against the real `ha-controller` binary (127.0.0.1, ephemeral ports).
///
/// Every test starts its own controller, reads the ports from its `LISTENING` line, and stops
/// it with SIGTERM (by PID), expecting exit status 0.
@Suite(.enabled(if: ControllerBinary.path != nil, ControllerBinary.missingReason), .timeLimit(.minutes(2)))
struct ControllerClientTests {
    // MARK: - One master at a time

    @Test func secondMaster_whileFirstIsConnected_isRefusedThenAcceptedAfterItLeaves() async throws {
        let controller = try ControllerProcess.start(config: ControllerFixtures.cluster())
        defer { controller.cleanUp() }
        let first = try await ConnectedMaster.connect(to: controller, host: "host-1")
        #expect(await first.recorder.waitFor { $0 == .connected(accepted: true) })

        let second = try await ConnectedMaster.connect(to: controller, host: "host-2")
        #expect(await second.recorder.waitFor { $0 == .connected(accepted: false) })
        let whileBoth = try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/ha")
        #expect((whileBoth.object["master"] as? [String: Any])?["host"] as? String == "host-1")

        await first.stop()
        #expect(await first.recorder.waitFor { $0 == .disconnected })
        #expect(await second.recorder.waitFor(timeout: .seconds(5)) { $0 == .connected(accepted: true) })
        let afterwards = try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/ha")
        #expect((afterwards.object["master"] as? [String: Any])?["host"] as? String == "host-2")
        #expect(await second.client.isAccepted)
        // The refusal is reported once, not once per retry.
        #expect(await second.recorder.count { $0 == .connected(accepted: false) } == 1)
        await second.stop()
        #expect(controller.stop() == 0)
    }

    @Test func silentMaster_afterTheMasterTimeout_isDroppedSoAnotherMasterIsAccepted() async throws {
        // The timeout is long enough that host-2 surely connects while host-1's session is still
        // live on a loaded machine (the outcome under test: refused first, accepted after it).
        // 3 s was not: in a full parallel pass host-2's hello came after it once.
        let controller = try ControllerProcess.start(config: ControllerFixtures.cluster(), extraArguments: ["--master-timeout-ms", "6000"])
        defer { controller.cleanUp() }
        // host-1 says hello, then nothing (a master cut off from the controller, or stopped with SIGSTOP).
        let hello = Array(#"{"type":"hello","host":"host-1","role":"master","configVersion":1}"#.utf8) + [0x0A]
        let silent = Task { try await RawAgent.send(hello, port: controller.agentPort, holdOpen: .seconds(14)) }
        #expect(await eventually { ((try? await HTTPTestClient.json("GET", port: controller.httpPort, "/healthz"))?.object["master"] as? String) == "host-1" })

        let second = try await ConnectedMaster.connect(to: controller, host: "host-2")
        #expect(await second.recorder.waitFor { $0 == .connected(accepted: false) })
        #expect(await second.recorder.waitFor(timeout: .seconds(15)) { $0 == .connected(accepted: true) })
        let ha = try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/ha")
        #expect((ha.object["counters"] as? [String: Any])?["sessionsTimedOut"] as? Int == 1)
        #expect(await second.client.reportState(hostStates: ["host-1": .dead], protectedVMs: [], poweredOn: [:]))

        // SIGTERM with a master connected: exit 0, and the master sees the session end.
        #expect(controller.stop() == 0)
        #expect(await second.recorder.waitFor { $0 == .disconnected })
        #expect(await !second.client.reportState(hostStates: [:], protectedVMs: [], poweredOn: [:]))
        await second.stop()
        silent.cancel()
        _ = try? await silent.value
    }

    // MARK: - Configuration

    @Test func putCluster_withMasterConnected_arrivesAsConfigPushedAndIsQueuedWithoutOne() async throws {
        let controller = try ControllerProcess.start(config: ControllerFixtures.cluster())
        defer { controller.cleanUp() }
        let master = try await ConnectedMaster.connect(to: controller, host: "host-1", configVersion: 1)
        #expect(await master.recorder.waitFor { $0 == .connected(accepted: true) })

        var updated = ControllerFixtures.cluster()
        updated.isolationResponse = .powerOff
        let body = try JSONEncoder().encode(updated)
        let httpPort = controller.httpPort
        let put = Task { try await HTTPTestClient.request("PUT", port: httpPort, "/api/cluster", body: body) }
        let pushed = await master.recorder.waitForValue { event -> (UInt64, ClusterConfig)? in
            if case .configPushed(let id, let config) = event { return (id, config) }
            return nil
        }
        let (id, config) = try #require(pushed)
        #expect(config.version == 2)
        #expect(config.isolationResponse == .powerOff)
        await master.client.ack(id: id, ok: true)
        let answer = try await put.value
        #expect(answer.status == 200)
        #expect(await master.client.configVersion == 2)
        let cluster = try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/cluster")
        #expect(cluster.object["version"] as? Int == 2)

        // No master: accepted and queued (202), pushed at the next master's hello.
        await master.stop()
        _ = await eventually { (try? await HTTPTestClient.json("GET", port: controller.httpPort, "/healthz"))?.object["master"] is NSNull }
        updated.isolationResponse = .shutdown
        let queued = try await HTTPTestClient.request("PUT", port: controller.httpPort, "/api/cluster", body: try JSONEncoder().encode(updated))
        #expect(queued.status == 202)
        let next = try await ConnectedMaster.connect(to: controller, host: "host-2", configVersion: 2)
        let late = await next.recorder.waitForValue { event -> ClusterConfig? in
            if case .configPushed(_, let config) = event { return config }
            return nil
        }
        #expect(late?.version == 3)
        #expect(late?.isolationResponse == .shutdown)
        await next.stop()
        #expect(controller.stop() == 0)
    }

    // MARK: - Protection

    @Test func protect_waitsForTheMastersAck_andTimesOutWithoutIt() async throws {
        var config = ControllerFixtures.cluster()
        config.vms[0].isProtected = false
        let controller = try ControllerProcess.start(config: config, extraArguments: ["--ack-timeout-ms", "1500"])
        defer { controller.cleanUp() }

        let noMaster = try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-01/protect")
        #expect(noMaster.status == 503)
        let unknown = try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-99/protect")
        #expect(unknown.status == 404)

        let master = try await ConnectedMaster.connect(to: controller, host: "host-1", configVersion: 1)
        #expect(await master.recorder.waitFor { $0 == .connected(accepted: true) })
        let started = ContinuousClock.now
        let protect = Task { try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-01/protect") }
        let requested = await master.recorder.waitForValue { event -> UInt64? in
            if case .protectRequested(let id, "vm-01", true) = event { return id }
            return nil
        }
        let id = try #require(requested)
        // The master "writes the protectedlist" for a while: the HTTP answer must wait for the ack.
        try await Task.sleep(for: .milliseconds(400))
        await master.client.ack(id: id, ok: true)
        let answer = try await protect.value
        #expect(answer.status == 200)
        #expect(started.duration(to: .now) >= .milliseconds(400))
        let cluster = try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/cluster")
        let vms = (cluster.object["config"] as? [String: Any])?["vms"] as? [[String: Any]]
        #expect(vms?.first { $0["id"] as? String == "vm-01" }?["isProtected"] as? Bool == true)

        // No ack: 504 after the ack timeout.
        let unprotectStarted = ContinuousClock.now
        let unprotect = try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-01/unprotect")
        #expect(unprotect.status == 504)
        #expect(unprotectStarted.duration(to: .now) >= .milliseconds(1400))
        #expect(await master.recorder.contains { $0 == .protectRequested(id: id + 1, vm: "vm-01", protected: false) })
        // A refusal from the master is not a success either.
        let refused = Task { try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-01/unprotect") }
        let second = await master.recorder.waitForValue { event -> UInt64? in
            if case .protectRequested(let requestID, "vm-01", false) = event, requestID > id + 1 { return requestID }
            return nil
        }
        await master.client.ack(id: try #require(second), ok: false, reason: "datastore not writable")
        #expect(try await refused.value.status == 502)
        await master.stop()
        #expect(controller.stop() == 0)
    }

    // MARK: - Admission control

    @Test func powerOn_whenSlotPolicyRejects_returns409AndRecordsTheDecision() async throws {
        let controller = try ControllerProcess.start(
            config: ControllerFixtures.slotCluster(), extraArguments: ["--hostd-socket", "host-1=/nonexistent/hostd.sock"]
        )
        defer { controller.cleanUp() }
        let master = try await ConnectedMaster.connect(to: controller, host: "host-1", configVersion: 1)
        #expect(await master.recorder.waitFor { $0 == .connected(accepted: true) })
        await master.client.reportState(
            hostStates: ["host-1": .alive, "host-2": .alive], protectedVMs: ["vm-01", "vm-02"], poweredOn: ["vm-01": "host-1", "vm-02": "host-2"]
        )
        #expect(await eventually { (try? await HTTPTestClient.json("GET", port: controller.httpPort, "/api/ha"))?.object["report"] is [String: Any] })

        // 2 hosts × 2 slots of 500 MHz; 3 VMs leave no room for one host failure.
        let answer = try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-03/power-on?host=host-1")
        #expect(answer.status == 409)
        #expect(answer.text.contains("slot policy"))
        let decisions = controller.decisionLines()
        let decision = try #require(decisions.last)
        #expect(decision["vm"] as? String == "vm-03")
        #expect(decision["host"] as? String == "host-1")
        #expect(decision["admitted"] as? Bool == false)
        #expect((decision["reason"] as? String)?.contains("slot policy") == true)
        #expect(decision["wall"] is Double)
        // Already running: refused without a decision.
        let again = try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-01/power-on?host=host-1")
        #expect(again.status == 409)
        #expect(controller.decisionLines().count == decisions.count)
        await master.stop()
        #expect(controller.stop() == 0)
    }

    @Test func powerOnAndOff_goThroughHostdAndTheMaster_inTheDocumentedOrder() async throws {
        let hostd = try await FakeHostd.start()
        defer { hostd.cleanUp() }
        var config = ControllerFixtures.cluster()
        config.vms[0].isProtected = false
        let controller = try ControllerProcess.start(config: config, extraArguments: ["--hostd-socket", "host-2=\(hostd.socketPath)"])
        defer { controller.cleanUp() }
        let master = try await ConnectedMaster.connect(to: controller, host: "host-1", configVersion: 1, autoAck: true, timeline: hostd.timeline)
        #expect(await master.recorder.waitFor { $0 == .connected(accepted: true) })

        let on = try await HTTPTestClient.json("POST", port: controller.httpPort, "/api/vms/vm-01/power-on?host=host-2")
        #expect(on.status == 200)
        #expect(on.object["protected"] as? Bool == true)
        #expect(controller.decisionLines().last?["admitted"] as? Bool == true)

        let off = try await HTTPTestClient.json("POST", port: controller.httpPort, "/api/vms/vm-01/power-off")
        #expect(off.status == 200)
        // hostd powers on, then the master protects; the master unprotects, then hostd powers off.
        #expect(
            hostd.timeline.entries == [
                "hostd powerOn vm-01 user-poweron", "master protect vm-01 true", "master protect vm-01 false", "hostd powerOff vm-01 user-poweroff",
            ]
        )
        let notRunning = try await HTTPTestClient.request("POST", port: controller.httpPort, "/api/vms/vm-01/power-off")
        #expect(notRunning.status == 409)
        await master.stop()
        #expect(controller.stop() == 0)
    }

    // MARK: - Robustness

    @Test func connectFailures_areReportedOncePerRunOfTheSameFailure() async throws {
        // A loopback port nobody listens on: every attempt is refused.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        let recorder = EventRecorder(timeline: nil)
        let client = ControllerClient(
            address: "127.0.0.1", port: port, host: "host-1", configVersion: 1,
            reconnectInterval: .milliseconds(50), keepaliveInterval: .milliseconds(50)
        ) { event in
            await recorder.record(event)
        }
        let task = Task { await client.run() }
        let reason = await recorder.waitForValue { event -> String? in
            if case .connectFailed(let reason) = event { reason } else { nil }
        }
        #expect(reason?.contains("127.0.0.1:\(port)") == true, "\(String(describing: reason))")
        // Several more refused attempts: still one report.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while await client.connectAttempts < 5, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await client.connectAttempts >= 5)
        #expect(await recorder.count { if case .connectFailed = $0 { true } else { false } } == 1)
        #expect(await !client.isAccepted)
        await client.stop()
        await task.value
    }

    @Test func agentLines_whenMalformed_areDroppedAndCountedWithoutEndingTheSession() async throws {
        let controller = try ControllerProcess.start(config: ControllerFixtures.cluster())
        defer { controller.cleanUp() }
        var stream = Array(#"{"type":"hello","host":"host-1","role":"master","configVersion":1}"#.utf8) + [0x0A]
        stream += Array("garbage\n{\"type\":\"bogus\"}\n".utf8)
        stream += Array(repeating: UInt8(ascii: "x"), count: ControllerProtocol.maxLineBytes + 100) + [0x0A]
        stream += Array(#"{"type":"state","host":"host-1","hostStates":{"host-2":"dead"},"protectedVMs":[],"poweredOn":{}}"#.utf8) + [0x0A]
        let welcome = try await RawAgent.send(stream, port: controller.agentPort, holdOpen: .milliseconds(500))
        #expect(welcome.hasPrefix(#"{"accepted":true,"type":"welcome"}"#))
        let ha = try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/ha")
        #expect((ha.object["counters"] as? [String: Any])?["agentLinesDropped"] as? Int == 3)
        let report = ha.object["report"] as? [String: Any]
        #expect((report?["hostStates"] as? [String: String])?["host-2"] == "dead")
        #expect(controller.stop() == 0)
    }

    @Test func httpBody_whenLargerThan1MiB_isRejectedWith413() async throws {
        let controller = try ControllerProcess.start(config: ControllerFixtures.cluster())
        defer { controller.cleanUp() }
        let big = try await HTTPTestClient.request("PUT", port: controller.httpPort, "/api/cluster", body: Data(count: (1 << 20) + 1))
        #expect(big.status == 413)
        let bad = try await HTTPTestClient.request("PUT", port: controller.httpPort, "/api/cluster", body: Data("{}".utf8))
        #expect(bad.status == 400)
        #expect(try await HTTPTestClient.request("GET", port: controller.httpPort, "/nowhere").status == 404)
        #expect(try await HTTPTestClient.request("DELETE", port: controller.httpPort, "/api/cluster").status == 405)
        #expect(try await HTTPTestClient.json("GET", port: controller.httpPort, "/api/cluster").object["version"] as? Int == 1)
        #expect(controller.stop() == 0)
    }
}

// MARK: - Fixtures

private enum ControllerFixtures {
    /// Two hosts on `ds-1`, VMs `vm-01`…`vm-03`, admission control off.
    static func cluster() -> ClusterConfig {
        ClusterConfig(
            hosts: [HostConfig(id: "host-1", datastores: ["ds-1"]), HostConfig(id: "host-2", datastores: ["ds-1"])],
            vms: ["vm-01", "vm-02", "vm-03"].map { VMConfig(id: VMID($0), homeDatastore: "ds-1") }
        )
    }

    /// Two 1000 MHz hosts, three 500 MHz VMs, slot policy tolerating one host failure: two VMs
    /// fit (one host's 2 slots hold them), the third does not.
    static func slotCluster() -> ClusterConfig {
        ClusterConfig(
            hosts: [HostConfig(id: "host-1", datastores: ["ds-1"], cpuMHz: 1000, memoryMB: 4096), HostConfig(id: "host-2", datastores: ["ds-1"], cpuMHz: 1000, memoryMB: 4096)],
            vms: ["vm-01", "vm-02", "vm-03"].map { VMConfig(id: VMID($0), homeDatastore: "ds-1", cpuReservationMHz: 500, memoryOverheadMB: 0) },
            admissionControl: .slots(hostFailuresToTolerate: 1, slotCPUCapMHz: nil, slotMemoryCapMB: nil)
        )
    }
}

// MARK: - The controller binary

/// Where the built `ha-controller` is: `$HACONTROLLER_BIN`, else beside the test bundle (or up to
/// three folders above it), else `<package>/.build/debug`.
private enum ControllerBinary {
    static let path: String? = {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["HACONTROLLER_BIN"] { candidates.append(override) }
        let selfExecutable = (try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        for start in [selfExecutable, CommandLine.arguments.first ?? ""] where !start.isEmpty {
            var url = URL(fileURLWithPath: start).standardizedFileURL.deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(url.appendingPathComponent("ha-controller").path)
                url = url.deletingLastPathComponent()
            }
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/ha-controller").path)
        return candidates.first { fileManager.isExecutableFile(atPath: $0) }
    }()

    static let missingReason: Comment = "ha-controller is not built (run `swift build` first, or set HACONTROLLER_BIN)"
}

/// One running `ha-controller` in a temporary state folder, stopped by PID.
private final class ControllerProcess: Sendable {
    let process: Process
    let stateDirectory: String
    let httpPort: Int
    let agentPort: Int

    private init(process: Process, stateDirectory: String, httpPort: Int, agentPort: Int) {
        self.process = process
        self.stateDirectory = stateDirectory
        self.httpPort = httpPort
        self.agentPort = agentPort
    }

    /// Starts the controller on 127.0.0.1 with ephemeral ports and waits for its `LISTENING` line.
    static func start(config: ClusterConfig, extraArguments: [String] = []) throws -> ControllerProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-ctl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: directory + "/clusterconfig.json"))
        _ = FileManager.default.createFile(atPath: directory + "/stdout.log", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/stderr.log", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ControllerBinary.path!)
        process.arguments = [
            "--listen", "127.0.0.1", "--http-port", "0", "--agent-port", "0", "--state-dir", directory,
            "--config", directory + "/clusterconfig.json",
        ] + extraArguments
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/stdout.log")
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr.log")
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while ContinuousClock.now < deadline, process.isRunning {
            let output = (try? String(contentsOfFile: directory + "/stdout.log", encoding: .utf8)) ?? ""
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("LISTENING ") }) {
                var ports: [String: Int] = [:]
                for field in line.split(separator: " ").dropFirst() {
                    let pair = field.split(separator: "=")
                    if pair.count == 2 { ports[String(pair[0])] = Int(pair[1]) }
                }
                if let http = ports["http"], let agent = ports["agent"] {
                    return ControllerProcess(process: process, stateDirectory: directory, httpPort: http, agentPort: agent)
                }
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        let stderr = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
        throw ControllerTestError("ha-controller did not print LISTENING: \(stderr.suffix(500))")
    }

    /// SIGTERM, then wait up to 5 s (SIGKILL after that).
    ///
    /// - Returns: The exit status (nil if it had to be killed).
    @discardableResult
    func stop() -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// Stops the process (if still running) and removes the state folder.
    func cleanUp() {
        stop()
        if ProcessInfo.processInfo.environment["HACONTROLLER_KEEP_STATE"] == nil {
            try? FileManager.default.removeItem(atPath: stateDirectory)
        }
    }

    /// The lines of `decisions.jsonl`, as JSON objects.
    func decisionLines() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: stateDirectory + "/decisions.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}

private struct ControllerTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - A master with a ControllerClient

/// Records a client's events and, optionally, acks every protect request at once.
private actor EventRecorder {
    private(set) var events: [ControllerEvent] = []
    private var autoAckClient: ControllerClient?
    private let timeline: Timeline?

    init(timeline: Timeline?) { self.timeline = timeline }

    func setAutoAck(_ client: ControllerClient) { autoAckClient = client }

    func record(_ event: ControllerEvent) async {
        events.append(event)
        if case .protectRequested(let id, let vm, let protected) = event {
            timeline?.append("master protect \(vm) \(protected)")
            if let autoAckClient { await autoAckClient.ack(id: id, ok: true) }
        }
    }

    func contains(_ predicate: (ControllerEvent) -> Bool) -> Bool { events.contains(where: predicate) }

    func count(_ predicate: (ControllerEvent) -> Bool) -> Int { events.count(where: predicate) }

    /// Waits until an event matches (polling every 10 ms).
    func waitFor(timeout: Duration = .seconds(10), _ predicate: (ControllerEvent) -> Bool) async -> Bool {
        await waitForValue(timeout: timeout) { predicate($0) ? true : nil } ?? false
    }

    /// Waits until `extract` returns a value for some event, and returns it.
    func waitForValue<T>(timeout: Duration = .seconds(10), _ extract: (ControllerEvent) -> T?) async -> T? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var seen = 0
        while true {
            while seen < events.count {
                if let value = extract(events[seen]) { return value }
                seen += 1
            }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A ``ControllerClient`` running in a task, with its recorder.
private struct ConnectedMaster {
    let client: ControllerClient
    let recorder: EventRecorder
    let task: Task<Void, Never>

    static func connect(
        to controller: ControllerProcess, host: HostID, configVersion: Int = 1, autoAck: Bool = false, timeline: Timeline? = nil
    ) async throws -> ConnectedMaster {
        let recorder = EventRecorder(timeline: timeline)
        let client = ControllerClient(
            address: "127.0.0.1", port: controller.agentPort, host: host, configVersion: configVersion,
            reconnectInterval: .milliseconds(200), keepaliveInterval: .milliseconds(200)
        ) { event in
            await recorder.record(event)
        }
        if autoAck { await recorder.setAutoAck(client) }
        let task = Task { await client.run() }
        return ConnectedMaster(client: client, recorder: recorder, task: task)
    }

    func stop() async {
        await client.stop()
        await task.value
    }
}

/// An ordered log shared by the fake hostd and the master (to check the order of operations).
private final class Timeline: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ entry: String) { storage.withLock { $0.append(entry) } }
    var entries: [String] { storage.withLock { $0 } }
}

// MARK: - A fake hostd

/// A hostd stand-in on a unix socket: answers every request `ok` and logs it to ``timeline``.
private final class FakeHostd: Sendable {
    let directory: String
    let socketPath: String
    let timeline: Timeline
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let task: Task<Void, Never>

    private init(directory: String, socketPath: String, server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, timeline: Timeline) {
        self.directory = directory
        self.socketPath = socketPath
        self.server = server
        self.timeline = timeline
        let log = timeline
        task = Task {
            try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await FakeHostd.serve(connection, log: log) }
                    }
                }
            }
        }
    }

    static func start() async throws -> FakeHostd {
        // Unix socket paths are limited to 108 bytes: a short folder in /tmp.
        var template = Array("/tmp/hc-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ControllerTestError("mkdtemp failed") }
        let directory = String(cString: made)
        let socketPath = directory + "/hostd.sock"
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let timeline = Timeline()
        return FakeHostd(directory: directory, socketPath: socketPath, server: server, timeline: timeline)
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, log: Timeline) async {
        try? await connection.executeThenClose { inbound, outbound in
            var framer = JSONLineFramer()
            for try await buffer in inbound {
                framer.append(buffer.readableBytesView)
                while let line = try framer.nextLine() {
                    let request = try HostdRequest.decode(line: line)
                    log.append("hostd \(request.op.rawValue) \(request.vm?.rawValue ?? "-") \(request.reason ?? "-")")
                    try await outbound.write(ByteBuffer(bytes: try HostdResponse(id: request.id, ok: true).encodeLine()))
                }
            }
        }
    }

    func cleanUp() {
        server.channel.close(promise: nil)
        task.cancel()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

// MARK: - HTTP and raw TCP

/// A minimal HTTP/1.1 client over NIO (one request per connection, `Connection: close`).
private enum HTTPTestClient {
    struct Response {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct JSONResponse {
        var status: Int
        var object: [String: Any]
    }

    static func request(_ method: String, port: Int, _ path: String, body: Data = Data()) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let raw: [UInt8] = try await channel.executeThenClose { inbound, outbound in
            var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            if !body.isEmpty { head += "Content-Type: application/json\r\n" }
            head += "\r\n"
            try await outbound.write(ByteBuffer(bytes: Array(head.utf8) + Array(body)))
            var received: [UInt8] = []
            do {
                for try await chunk in inbound {
                    received += chunk.readableBytesView
                    if received.count > 8 << 20 { break }
                }
            } catch {
                // The server may reset after answering (e.g. 413 before the body was read).
                if received.isEmpty { throw error }
            }
            return received
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = raw.indices.first(where: { raw[$0...].starts(with: separator) }) else {
            throw ControllerTestError("no HTTP response head in \(raw.count) bytes")
        }
        let statusLine = String(decoding: raw[..<split], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, let status = Int(fields[1]) else { throw ControllerTestError("bad status line \(statusLine)") }
        return Response(status: status, body: Array(raw[(split + separator.count)...]))
    }

    static func json(_ method: String, port: Int, _ path: String, body: Data = Data()) async throws -> JSONResponse {
        let response = try await request(method, port: port, path, body: body)
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        return JSONResponse(status: response.status, object: object)
    }
}

/// Speaks the agent protocol by hand (for lines a ``ControllerClient`` never sends).
private enum RawAgent {
    /// Sends `bytes`, keeps the connection open for `holdOpen`, and returns what the controller sent.
    static func send(_ bytes: [UInt8], port: Int, holdOpen: Duration) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            // Read the welcome line, then stay connected so the lines after it are handled.
            var received: [UInt8] = []
            var iterator = inbound.makeAsyncIterator()
            while !received.contains(0x0A), let chunk = try await iterator.next() { received += chunk.readableBytesView }
            try await Task.sleep(for: holdOpen)
            return String(decoding: received, as: UTF8.self)
        }
    }
}

/// Re-checks `condition` every 20 ms until it holds or `timeout` passed.
private func eventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
