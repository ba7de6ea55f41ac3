import Foundation
import HACore
import HAWire
import NIOCore
import NIOPosix

/// The agent's side of the hostd socket (docs/NODES.md §5).
struct HostdConnection: Sendable {
    let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
}

extension AgentShell {
    /// Keeps a connection to hostd; its absence halts the agent (oracle §1.1).
    func hostdLoop() async {
        var everConnected = false
        while !Task.isCancelled {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(unixDomainSocketPath: options.hostdSocket) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
                try await channel.executeThenClose { inbound, outbound in
                    await self.hostdConnected(HostdConnection(writer: outbound), first: !everConnected)
                    everConnected = true
                    var framer = JSONLineFramer()
                    for try await buffer in inbound {
                        framer.append(buffer.readableBytesView)
                        while true {
                            let line: [UInt8]?
                            do { line = try framer.nextLine() } catch { continue }
                            guard let line else { break }
                            await self.onHostdLine(line)
                        }
                    }
                }
            } catch {
                // Not there (yet): hostd is down.
            }
            await hostdDisconnected()
            try? await Task.sleep(for: options.settings.heartbeatInterval / 2)
        }
    }

    func hostdConnected(_ connection: HostdConnection, first: Bool) {
        hostd = connection
        if !first || pendingHostdUnavailable { deliver(.hostdAvailabilityChanged(available: true)) }
        pendingHostdUnavailable = false
        _ = hostdRequest(.list, vm: nil, reason: nil)
    }

    func hostdDisconnected() {
        let wasConnected = hostd != nil
        hostd = nil
        // Fail every request in flight.
        for (_, request) in hostdPending.sorted(by: { $0.key < $1.key }) where request.op == .powerOn {
            if let vm = request.vm { deliver(.powerOnCompleted(vm: vm, succeeded: false, reason: "hostd connection lost")) }
        }
        hostdPending = [:]
        if wasConnected || !pendingHostdUnavailable {
            pendingHostdUnavailable = true
            deliver(.hostdAvailabilityChanged(available: false))
        }
    }

    func onHostdLine(_ line: [UInt8]) {
        guard let inbound = try? HostdProtocol.decodeInbound(line: line) else { return }
        switch inbound {
        case .response(let response):
            guard let request = hostdPending.removeValue(forKey: response.id) else { return }
            switch request.op {
            case .powerOn:
                if let vm = request.vm { deliver(.powerOnCompleted(vm: vm, succeeded: response.ok, reason: response.reason)) }
            case .list:
                for vm in response.vms ?? [] { deliver(.vmPowerStateChanged(vm: vm, poweredOn: true, reason: nil)) }
            default:
                break
            }
        case .event(let event):
            switch event {
            case .vmPowerState(let vm, let on, let reason):
                deliver(.vmPowerStateChanged(vm: vm, poweredOn: on, reason: on ? nil : (reason ?? .crashed)))
            case .guestHeartbeat(let vm):
                deliver(.guestHeartbeat(vm))
                deliver(.applicationHeartbeat(vm))
            case .vmIO(let vm):
                deliver(.vmIOObserved(vm))
            }
        }
    }

    /// Sends a request to hostd; without hostd a power-on fails at once.
    func hostdRequest(_ op: HostdRequest.Op, vm: VMID?, reason: String?) -> [FDM.Event] {
        guard let hostd else {
            if op == .powerOn, let vm { return [.powerOnCompleted(vm: vm, succeeded: false, reason: "hostd unavailable")] }
            return []
        }
        hostdNextID += 1
        let request = HostdRequest(id: hostdNextID, op: op, vm: vm, reason: reason)
        hostdPending[request.id] = (op, vm)
        guard let bytes = try? request.encodeLine() else { return [] }
        let writer = hostd.writer
        Task { try? await writer.write(ByteBuffer(bytes: bytes)) }
        return []
    }
}

/// Appends `events.jsonl` lines (docs/NODES.md §6): opened in append mode, one write per line.
struct EventLogWriter {
    let fd: Int32

    init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission) }
    }

    func append(_ event: HAEvent, mono: Instant) {
        let line = EventLine(wall: Date().timeIntervalSince1970, mono: mono.seconds, event: event)
        guard let bytes = try? line.encodeLine() else { return }
        bytes.withUnsafeBytes { raw in _ = write(fd, raw.baseAddress, raw.count) }
    }
}
