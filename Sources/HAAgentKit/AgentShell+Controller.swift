import Foundation
import HACore
import HAWire
import Logging

// MARK: - The master's session with the controller (vCenter role)

extension AgentShell {
    /// Starts the controller session when this agent is an acting master, stops it otherwise
    /// (vCenter talks to masters only; HA keeps working without it).
    func syncControllerSession() {
        guard let address = options.controllerAddress else { return }
        let wanted = instance.role == .master && !instance.isIsolated
        if wanted, controller == nil {
            let client = ControllerClient(
                address: address, port: options.controllerPort, host: options.host, configVersion: instance.config.version,
                reconnectInterval: options.settings.heartbeatInterval, keepaliveInterval: options.settings.heartbeatInterval
            ) { [weak self] event in
                await self?.onControllerEvent(event)
            }
            controller = client
            controllerTask = Task { await client.run() }
        } else if !wanted, let client = controller {
            controller = nil
            controllerTask = nil
            pendingProtectAcks = []
            Task { await client.stop() }
            deliver(.vcenterConnectionChanged(connected: false))
        }
    }

    func onControllerEvent(_ event: ControllerEvent) {
        guard let client = controller else { return }
        switch event {
        case .connected(let accepted):
            deliver(.vcenterConnectionChanged(connected: accepted))
        case .disconnected:
            deliver(.vcenterConnectionChanged(connected: false))
        case .connectFailed(let reason):
            // Retried every heartbeat interval; logged once per distinct failure.
            logger.warning("cannot connect to the controller", metadata: ["ha.reason": "\(reason)"])
        case .configPushed(let id, let config):
            deliver(.configurationPushed(config))
            let applied = instance.config.version >= config.version
            Task { _ = await client.ack(id: id, ok: applied, reason: applied ? "" : "older than \(self.instance.config.version)") }
        case .protectRequested(let id, let vm, let protected):
            guard instance.config.vm(vm) != nil else {
                Task { _ = await client.ack(id: id, ok: false, reason: "unknown VM \(vm)") }
                return
            }
            deliver(.vmProtectionChanged(vm, protected: protected))
            // Acknowledged only once the protectedlist on disk says so (oracle §3.1).
            pendingProtectAcks.append(PendingProtect(id: id, vm: vm, protected: protected))
        }
    }

    /// After a successful protectedlist write on `ds` listing `vms`: acknowledge what it commits.
    func protectedListWritten(_ ds: DatastoreID, vms: [VMID]) {
        guard let client = controller, !pendingProtectAcks.isEmpty else { return }
        let listed = Set(vms)
        var remaining: [PendingProtect] = []
        for pending in pendingProtectAcks {
            if instance.config.vm(pending.vm)?.homeDatastore == ds, listed.contains(pending.vm) == pending.protected {
                let id = pending.id
                Task { _ = await client.ack(id: id, ok: true) }
            } else {
                remaining.append(pending)
            }
        }
        pendingProtectAcks = remaining
    }

    /// The master's view for vCenter, once per heartbeat interval.
    func reportToController() {
        guard let client = controller else { return }
        var states: [HostID: HostState] = [:]
        for host in instance.config.hosts.map(\.id) where host != options.host {
            if let state = instance.hostState(of: host) { states[host] = state }
        }
        let protected = instance.config.vms.filter(\.isProtected).map(\.id)
        let locations = instance.vmLocations
        Task { _ = await client.reportState(hostStates: states, protectedVMs: protected, poweredOn: locations) }
    }
}

/// A protect/unprotect request waiting for the protectedlist write.
struct PendingProtect: Sendable {
    var id: UInt64
    var vm: VMID
    var protected: Bool
}
