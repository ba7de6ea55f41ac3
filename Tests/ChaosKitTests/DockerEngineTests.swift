import ChaosKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Docker Engine client: wire shapes without a daemon, and a full lifecycle against the
/// real one when it answers `_ping`.
enum DockerEngineTests {}

// MARK: - Pure

extension DockerEngineTests {
    @Suite struct Wire {
        private func json(_ value: some Encodable) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }

        @Test func containerSpecEncodesTheEngineKeys() throws {
            let spec = ContainerSpec(
                image: "img:1", cmd: ["/bin/busybox", "sleep", "1"], entrypoint: ["/init"], env: ["A=1"], labels: ["hachaos.run": "x"],
                hostname: "h1", workingDir: "/w", stopSignal: "SIGTERM", stopTimeout: 3, binds: ["/a:/b:ro"], tmpfs: ["/tmp": "size=1m"],
                readonlyRootfs: true, init_: true, capAdd: ["NET_ADMIN"], memoryBytes: 1 << 26, pidsLimit: 64,
                sysctls: ["net.core.somaxconn": "256"], autoRemove: true, network: .init(name: "net1", ipv4: "198.19.250.10")
            )
            var withMAC = spec
            withMAC.macAddress = "02:ac:c6:13:fa:0a"
            let golden = """
                {"Cmd":["/bin/busybox","sleep","1"],"Entrypoint":["/init"],"Env":["A=1"],\
                "HostConfig":{"AutoRemove":true,"Binds":["/a:/b:ro"],"CapAdd":["NET_ADMIN"],"Init":true,"Memory":67108864,\
                "NetworkMode":"net1","PidsLimit":64,"ReadonlyRootfs":true,"Sysctls":{"net.core.somaxconn":"256"},"Tmpfs":{"/tmp":"size=1m"}},\
                "Hostname":"h1","Image":"img:1","Labels":{"hachaos.run":"x"},\
                "NetworkingConfig":{"EndpointsConfig":{"net1":{"IPAMConfig":{"IPv4Address":"198.19.250.10"}}}},\
                "StopSignal":"SIGTERM","StopTimeout":3,"WorkingDir":"/w"}
                """
            #expect(try json(spec) == golden)
            // Keys are sorted: MacAddress sits between Labels and NetworkingConfig.
            #expect(try json(withMAC) == golden.replacingOccurrences(
                of: "\"Labels\":{\"hachaos.run\":\"x\"},", with: "\"Labels\":{\"hachaos.run\":\"x\"},\"MacAddress\":\"02:ac:c6:13:fa:0a\","))
        }

        @Test func minimalContainerSpecOmitsUnsetOptionals() throws {
            let spec = ContainerSpec(image: "img", cmd: ["true"], networkMode: "none")
            let golden = """
                {"Cmd":["true"],"Env":[],"HostConfig":{"AutoRemove":false,"Binds":[],"CapAdd":[],"NetworkMode":"none",\
                "ReadonlyRootfs":false,"Sysctls":{},"Tmpfs":{}},"Image":"img","Labels":{}}
                """
            #expect(try json(spec) == golden)
        }

        @Test func networkSpecEncodesTheEngineKeys() throws {
            let spec = NetworkSpec(
                name: "n", internal: true, subnet: "198.19.250.0/24", gateway: "198.19.250.254", labels: ["hachaos.run": "x"],
                options: ["com.docker.network.bridge.name": "hac1234br"]
            )
            let golden = """
                {"CheckDuplicate":true,"Driver":"bridge","EnableIPv6":false,\
                "IPAM":{"Config":[{"Gateway":"198.19.250.254","Subnet":"198.19.250.0/24"}],"Driver":"default"},\
                "Internal":true,"Labels":{"hachaos.run":"x"},"Name":"n","Options":{"com.docker.network.bridge.name":"hac1234br"}}
                """
            #expect(try json(spec) == golden)
        }

        /// One frame of the multiplexed stream.
        private func frame(_ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
            let n = UInt32(payload.count)
            return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
        }

        @Test(arguments: [1, 3, 7, 8, 9, 4096, 1 << 20])
        func demultiplexesFramesSplitAcrossChunks(chunkSize: Int) {
            let big = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
            let stream =
                frame(1, Array("hi\n".utf8)) + frame(2, Array("oops".utf8)) + frame(1, []) + frame(1, big) + frame(2, Array(" again".utf8))
            var demuxer = DockerStreamDemuxer()
            var offset = 0
            while offset < stream.count {
                let end = min(offset + chunkSize, stream.count)
                demuxer.feed(stream[offset..<end])
                offset = end
            }
            #expect(demuxer.stdout == Data(Array("hi\n".utf8) + big))
            #expect(demuxer.stderr == Data("oops again".utf8))
            #expect(demuxer.pendingCount == 0)
        }

        @Test func demuxerKeepsAnIncompleteFrame() {
            var demuxer = DockerStreamDemuxer()
            let whole = frame(1, Array("hello".utf8))
            demuxer.feed(whole.prefix(10))
            #expect(demuxer.stdout.isEmpty)
            #expect(demuxer.pendingCount == 10)
            demuxer.feed(whole.dropFirst(10))
            #expect(String(decoding: demuxer.stdout, as: UTF8.self) == "hello")
            #expect(demuxer.pendingCount == 0)
        }

        @Test func decodesEventsSplitAcrossChunks() throws {
            let die = """
                {"status":"die","id":"abc123","from":"hactest-1:latest","Type":"container","Action":"die",\
                "Actor":{"ID":"abc123","Attributes":{"exitCode":"137","hachaos.run":"hactest-1","image":"hactest-1:latest","name":"c1"}},\
                "scope":"local","time":1700000000,"timeNano":1700000000123456789}
                """
            let network = """
                {"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"container":"abc123","name":"net","type":"bridge"}},\
                "scope":"local","time":1700000001,"timeNano":1700000001000000000}
                """
            let text = die + "\n" + "{\"message\":\"not an event\"}\n" + "\n" + network + "\n" + "{\"Type\":\"container\",\"Act"
            var decoder = DockerEventDecoder()
            let bytes = Array(text.utf8)
            var events: [DockerEvent] = []
            for start in stride(from: 0, to: bytes.count, by: 50) {
                events += decoder.feed(bytes[start..<min(start + 50, bytes.count)])
            }
            try #require(events.count == 2)
            #expect(events[0].type == "container")
            #expect(events[0].action == "die")
            #expect(events[0].actorID == "abc123")
            #expect(events[0].name == "c1")
            #expect(events[0].exitCode == 137)
            #expect(events[0].attributes["hachaos.run"] == "hactest-1")
            #expect(abs(events[0].time - 1_700_000_000.123456789) < 1e-6)
            #expect(events[1].type == "network")
            #expect(events[1].action == "connect")
            #expect(events[1].attributes["container"] == "abc123")
            #expect(events[1].time == 1_700_000_001)
        }

        @Test func errorFromMessageBody() {
            let notFound = DockerError(status: 404, body: Data(#"{"message":"No such container: x"}"#.utf8), request: "GET /containers/x/json")
            #expect(notFound.message == "No such container: x")
            #expect(notFound.isNotFound && !notFound.isConflict && !notFound.isTransport)
            #expect(notFound.description == "docker GET /containers/x/json: HTTP 404: No such container: x")
            let conflict = DockerError(status: 409, body: Data(#"{"message":"Container abc is not running"}"#.utf8))
            #expect(conflict.isConflict)
            #expect(conflict.description == "docker HTTP 409: Container abc is not running")
            let plain = DockerError(status: 500, body: Data("page not found\n".utf8))
            #expect(plain.message == "page not found")
        }

        @Test func unreachableSocketIsATransportError() async {
            let engine = DockerEngine(socketPath: "/nonexistent/hachaos-docker.sock")
            #expect(await engine.ping() == false)
            await #expect {
                _ = try await engine.version()
            } throws: { error in
                (error as? DockerError)?.isTransport == true
            }
        }
    }
}

// MARK: - Live

extension RootNetnsTests {
    /// Against the machine's dockerd; every resource is named (`hac-<run>-test…`) and labelled
    /// (`hachaos.run=<run>`) with one run id, journaled before it exists (so `chaos clean` removes
    /// it after a crash of the test process), and removed whatever happens. In the serialized
    /// root suite: its live journal in the machine's journal folder would otherwise make a
    /// concurrent reaper test keep the shared folders that the test then expects gone.
    @Suite(.enabled("no Docker daemon at /var/run/docker.sock") { await DockerEngine().ping() })
    struct DockerEngineLiveTests {
        let engine = DockerEngine()
        let runID = RunID.random()
        var run: String { runID.rawValue }
        var id: String { "\(runID.prefix)-test" }

        var label: String { "hachaos.run=\(run)" }
        var image: String { "\(id):latest" }

        @Test func version() async throws {
            let version = try await engine.version()
            #expect(!version.version.isEmpty)
            #expect(version.apiVersion.hasPrefix("1."))
        }

        @Test func missingThingsAnswer404() async throws {
            #expect(try await engine.imageInspect("\(id)-nothing:latest") == nil)
            await #expect {
                _ = try await engine.containerInspect("\(id)-nothing")
            } throws: { error in
                (error as? DockerError)?.isNotFound == true
            }
            // Removals of what is already gone succeed.
            try await engine.containerRemove("\(id)-nothing")
            try await engine.networkRemove("\(id)-nothing")
            try await engine.imageRemove("\(id)-nothing:latest", force: true)
        }

        /// The outcome is that `stop()` ends a stream on which no event will ever come (the
        /// transfer would otherwise block until the daemon writes). How fast is a benchmark's
        /// business, not a test's: under the parallel suite it took 0.8 s once.
        @Test func stoppingAnIdleEventStream_endsIt() async throws {
            let stream = engine.events(label: "hachaos.run=\(run)-nothing")
            try await Task.sleep(for: .milliseconds(300))
            #expect(!stream.isFinished, "the subscription ended by itself: \(String(describing: stream.failure))")
            let clock = ContinuousClock()
            let start = clock.now
            stream.stop()
            // Only a hang detector: a stream that ignores stop() never ends.
            let ended = await stream.awaitEnd(within: .seconds(30))
            print("event stream: stop noticed after \(clock.now - start)")
            #expect(ended, "the stream did not end within 30 s of stop()")
            #expect(stream.isFinished)
            #expect(stream.failure == nil)
        }

        @Test func eventStreamReportsAnErrorAnswer() async throws {
            // An API version the daemon rejects: a 400 answer (plain text), kept as the stream's failure.
            let stream = DockerEngine(apiVersion: "v0.1").events(label: label)
            for await _ in stream.events {}
            let failure = try #require(stream.failure)
            #expect(failure.status == 400, "\(failure)")
            #expect(!failure.message.isEmpty)
        }

        @Test func lifecycle() async throws {
            // The subnet is claimed like a run's (no collision with runs on the machine), and
            // the claim's journal records the image, network and container before they exist.
            let runner = ProcessCommandRunner()
            let (subnet, journal) = try await SubnetClaim.claim(runID: runID, journalDirectory: RunJournal.defaultDirectory) { () async throws(NetnsError) in
                try await NetnsNetwork.subnetIndicesInUse(runner: runner)
            }
            var failure: (any Error)?
            do { try await runLifecycle(subnet: subnet, journal: journal) } catch { failure = error }
            await removeEverything()
            #expect(try await engine.containerList(label: label).isEmpty)
            #expect(try await engine.networkList(label: label).isEmpty)
            #expect(try await engine.imageInspect(image) == nil)
            let outstanding = await journal.outstanding
            try await journal.markRemoved(outstanding.map(\.seq))
            #expect(await journal.close(), "the journal was not deleted")
            if let failure { throw failure }
        }

        @Test func theReaper_removesAJournaledImage_ofADeadRun() async throws {
            // A test process that died after importing its image: its journal names a dead PID.
            let journals = try scratchDirectory("docker-reaper")
            defer { try? FileManager.default.removeItem(atPath: journals) }
            let journal = try RunJournal(runID: runID, directory: journals, ownerPID: try await deadPID())
            let busybox = try Data(contentsOf: URL(fileURLWithPath: try #require(Self.busyboxPath, "no static busybox (apt-get install busybox-static)")))
            _ = try await journal.plan(JournalResource(kind: .image, name: image, undo: [DockerUndo.removeImage(image)]))
            try await engine.imageImport(tar: Self.rootfsTar(busybox: busybox), repository: id, tag: "latest", changes: ["LABEL hachaos.run=\(run)"])
            #expect(try await engine.imageInspect(image) != nil)
            let report = await Reaper.clean(runID: runID, journalDir: journals, runner: ProcessCommandRunner())
            #expect(report.removed.contains("image \(image)"), "\(report)")
            #expect(report.failures.isEmpty, "\(report)")
            #expect(try await engine.imageInspect(image) == nil)
            #expect(RunJournal.journalPaths(in: journals).isEmpty)
            try? await engine.imageRemove(image, force: true)
        }

        private func runLifecycle(subnet index: Int, journal: RunJournal) async throws {
            let net = String(NetnsLayout.address(subnetIndex: index, host: 0).dropLast(2))  // "198.x.y"

            // Image: a static busybox, imported from an in-memory tarball.
            let busybox = try Data(contentsOf: URL(fileURLWithPath: try #require(Self.busyboxPath, "no static busybox (apt-get install busybox-static)")))
            let imageSeq = try await journal.plan(JournalResource(kind: .image, name: image, undo: [DockerUndo.removeImage(image)]))
            try await engine.imageImport(
                tar: Self.rootfsTar(busybox: busybox), repository: id, tag: "latest",
                changes: ["LABEL hachaos.run=\(run)", #"CMD ["/bin/busybox","sleep","1000"]"#]
            )
            let imageInfo = try #require(try await engine.imageInspect(image))
            #expect(imageInfo.id.hasPrefix("sha256:"))
            #expect(imageInfo.labels["hachaos.run"] == run)
            #expect(imageInfo.repoTags.contains(image))

            // Network: internal bridge, fixed subnet and bridge name.
            let networkName = "\(id)-net"
            let bridge = "\(runID.interfacePrefix)br"
            let networkSeq = try await journal.plan(JournalResource(kind: .network, name: networkName, undo: [DockerUndo.removeNetwork(networkName)]))
            let networkID = try await engine.networkCreate(
                NetworkSpec(
                    name: networkName, internal: true, subnet: "\(net).0/24", gateway: "\(net).254", labels: ["hachaos.run": run],
                    options: ["com.docker.network.bridge.name": bridge]
                )
            )
            let network = try await engine.networkInspect(networkID)
            #expect(network.name == networkName)
            #expect(network.internal)
            #expect(network.driver == "bridge")
            #expect(network.labels["hachaos.run"] == run)
            #expect(network.options["com.docker.network.bridge.name"] == bridge)
            #expect(network.ipam.first?.subnet == "\(net).0/24")
            #expect(network.ipam.first?.gateway == "\(net).254")
            #expect(try await engine.networkList(label: label).map(\.id) == [networkID])

            // Container: fixed IP, labels, docker-init as PID 1, read-only rootfs with a tmpfs.
            let name = "\(id)-c1"
            let containerSeq = try await journal.plan(JournalResource(kind: .container, name: name, undo: [DockerUndo.removeContainer(name)]))
            let containerID = try await engine.containerCreate(
                name: name,
                spec: ContainerSpec(
                    image: image, cmd: ["/bin/busybox", "sleep", "1000"], env: ["HAC_TEST=1"], labels: ["hachaos.run": run, "hachaos.role": "test"],
                    hostname: "c1", tmpfs: ["/tmp": "size=1m"], readonlyRootfs: true, init_: true, capAdd: ["NET_ADMIN"],
                    memoryBytes: 64 << 20, pidsLimit: 64, sysctls: ["net.core.somaxconn": "256"],
                    network: .init(name: networkName, ipv4: "\(net).10")
                )
            )
            try await engine.containerStart(containerID)
            try await engine.containerStart(name)  // 304: already started
            var info = try await engine.containerInspect(name)
            #expect(info.id == containerID)
            #expect(info.name == "/\(name)")
            let state = try #require(info.state)
            #expect(state.running && !state.paused && state.status == "running")
            #expect(state.pid > 0)
            #expect(info.labels["hachaos.role"] == "test")
            #expect(info.networks[networkName]?.ipAddress == "\(net).10")
            #expect(info.networks[networkName]?.gateway == "\(net).254")
            #expect(try await engine.networkInspect(networkName).containers[containerID]?.ipv4Address == "\(net).10/24")

            // Top: host PIDs (docker-init and the sleep under it).
            let top = try await engine.containerTop(containerID)
            #expect(top.contains { $0.pid == state.pid })
            #expect(top.contains { $0.command.contains("sleep 1000") })
            for process in top { #expect(kill(process.pid, 0) == 0, "PID \(process.pid) is not a live host process") }

            // Exec.
            let echo = try await engine.exec(containerID, ["/bin/busybox", "echo", "hi"])
            #expect(echo == ExecResult(stdout: "hi\n", stderr: "", exitCode: 0))
            #expect(try await engine.exec(containerID, ["/bin/busybox", "false"]).exitCode == 1)
            let mixed = try await engine.exec(containerID, ["/bin/busybox", "sh", "-c", "echo out; echo err >&2; cat /proc/sys/net/core/somaxconn; exit 3"])
            #expect(mixed == ExecResult(stdout: "out\n256\n", stderr: "err\n", exitCode: 3))
            let detached = try await engine.execDetached(containerID, ["/bin/busybox", "sleep", "300"])
            #expect(detached.pid > 0)
            #expect(kill(detached.pid, 0) == 0)
            #expect(try await engine.containerTop(containerID).contains { $0.pid == detached.pid })

            // Pause / unpause (a second pause is a 409).
            try await engine.containerPause(containerID)
            info = try await engine.containerInspect(containerID)
            #expect(info.state?.paused == true && info.state?.status == "paused")
            await #expect {
                try await engine.containerPause(containerID)
            } throws: { error in
                (error as? DockerError)?.isConflict == true
            }
            try await engine.containerUnpause(containerID)
            info = try await engine.containerInspect(containerID)
            #expect(info.state?.paused == false && info.state?.running == true)

            let listed = try await engine.containerList(label: label)
            #expect(listed.map(\.id) == [containerID])
            #expect(listed.first?.names == ["/\(name)"])
            #expect(listed.first?.state == "running")
            #expect(listed.first?.labels["hachaos.role"] == "test")
            #expect(try await engine.containerList(label: "hachaos.role=other-\(id)").isEmpty)

            // Kill: the event stream reports the death.
            let events = engine.events(label: label, since: Date())
            defer { events.stop() }
            try await engine.containerKill(containerID)
            let die = await Self.firstEvent(events, within: .seconds(10)) { $0.action == "die" && $0.actorID == containerID }
            let dieEvent = try #require(die, "no die event within 10 s")
            #expect(dieEvent.type == "container")
            #expect(dieEvent.name == name)
            #expect(dieEvent.exitCode == 137)
            #expect(dieEvent.attributes["hachaos.run"] == run)
            #expect(abs(dieEvent.time - Date().timeIntervalSince1970) < 60)
            info = try await engine.containerInspect(containerID)
            #expect(info.state?.running == false && info.state?.exitCode == 137)
            await #expect {
                try await engine.containerKill(containerID)
            } throws: { error in
                (error as? DockerError)?.isConflict == true
            }
            try await engine.containerStop(containerID, timeoutSeconds: 1)  // 304: already stopped

            // Removal; a second removal is fine.
            try await engine.containerRemove(containerID)
            try await engine.containerRemove(containerID)
            await #expect {
                _ = try await engine.containerInspect(containerID)
            } throws: { error in
                (error as? DockerError)?.isNotFound == true
            }
            try await journal.markRemoved(containerSeq)
            try await engine.networkRemove(networkID)
            try await engine.networkRemove(networkID)
            try await journal.markRemoved(networkSeq)
            try await engine.imageRemove(image, force: true)
            try await journal.markRemoved(imageSeq)
        }

        /// Removes whatever of this test is left, ignoring errors.
        private func removeEverything() async {
            for container in (try? await engine.containerList(label: label)) ?? [] {
                try? await engine.containerRemove(container.id, force: true)
            }
            for network in (try? await engine.networkList(label: label)) ?? [] {
                try? await engine.networkRemove(network.id)
            }
            try? await engine.imageRemove(image, force: true)
        }

        /// The first event matching `predicate`, or `nil` after `within`.
        private static func firstEvent(
            _ stream: DockerEventStream, within: Duration, where predicate: @escaping @Sendable (DockerEvent) -> Bool
        ) async -> DockerEvent? {
            let watchdog = Task {
                try? await Task.sleep(for: within)
                stream.stop()
            }
            defer { watchdog.cancel() }
            for await event in stream.events where predicate(event) { return event }
            return nil
        }

        static let busyboxPath: String? = ["/bin/busybox", "/usr/bin/busybox"].first { FileManager.default.isExecutableFile(atPath: $0) }

        /// A root filesystem: `/bin/busybox`, `/bin/sh` → busybox, empty `/etc` and `/tmp`.
        static func rootfsTar(busybox: Data) -> Data {
            var tar = Data()
            tar += tarHeader(name: "bin/", mode: 0o755, size: 0, type: "5")
            tar += tarHeader(name: "bin/busybox", mode: 0o755, size: busybox.count, type: "0")
            tar += busybox
            tar += Data(count: (512 - busybox.count % 512) % 512)
            tar += tarHeader(name: "bin/sh", mode: 0o777, size: 0, type: "2", link: "busybox")
            tar += tarHeader(name: "etc/", mode: 0o755, size: 0, type: "5")
            tar += tarHeader(name: "tmp/", mode: 0o1777, size: 0, type: "5")
            tar += Data(count: 1024)
            return tar
        }

        /// One ustar header block.
        static func tarHeader(name: String, mode: Int, size: Int, type: Character, link: String = "") -> Data {
            var block = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) {
                for (i, byte) in text.utf8.enumerated() { block[offset + i] = byte }
            }
            func octal(_ value: Int, width: Int) -> String {
                String(value, radix: 8).leftPadded(to: width - 1, with: "0")
            }
            put(name, at: 0)
            put(octal(mode, width: 8), at: 100)
            put(octal(0, width: 8), at: 108)
            put(octal(0, width: 8), at: 116)
            put(octal(size, width: 12), at: 124)
            put(octal(1_700_000_000, width: 12), at: 136)
            put(String(type), at: 156)
            put(link, at: 157)
            put("ustar", at: 257)
            put("00", at: 263)
            put("root", at: 265)
            put("root", at: 297)
            put("        ", at: 148)
            let checksum = block.reduce(0) { $0 + Int($1) }
            put(octal(checksum, width: 7), at: 148)  // six digits, NUL, space
            block[154] = 0
            return Data(block)
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
