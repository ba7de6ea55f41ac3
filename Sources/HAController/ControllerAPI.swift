import Foundation
import HACore
import HAWire

// MARK: - APIRequest / APIResponse

/// One HTTP request, already read in full (body at most ``ControllerOptions/maxBodyBytes``).
struct APIRequest: Sendable {
    /// `GET`, `PUT`, `POST`…
    var method: String
    /// The path split on `/`, empty components dropped, percent-decoded.
    var pathComponents: [String]
    /// Query parameters, percent-decoded (last one wins).
    var query: [String: String]
    /// The body.
    var body: [UInt8]

    /// Parses the request target (`/api/vms/vm-01/power-on?host=host-2`).
    init(method: String, uri: String, body: [UInt8]) {
        self.method = method
        self.body = body
        let target = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        pathComponents = (target.first ?? "").split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        var query: [String: String] = [:]
        if target.count > 1 {
            for pair in target[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
                query[decode(keyValue[0])] = keyValue.count > 1 ? decode(keyValue[1]) : ""
            }
        }
        self.query = query
    }
}

/// One HTTP response: a status and a JSON body.
struct APIResponse: Sendable {
    var status: Int
    var body: [UInt8]

    /// A JSON response (keys sorted).
    static func json(_ status: Int, _ value: some Encodable) -> APIResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"response cannot be encoded"}"#.utf8)
        return APIResponse(status: status, body: Array(data) + [0x0A])
    }

    /// `{"error": message}`.
    static func error(_ status: Int, _ message: String) -> APIResponse {
        json(status, ErrorBody(error: message))
    }

    struct ErrorBody: Encodable { var error: String }
}

// MARK: - ControllerAPI

/// The HTTP/1.1 JSON API of the controller (vCenter role).
///
/// ```
/// GET  /healthz                             liveness, master, version
/// GET  /api/cluster                         {"version":N,"config":{…}}
/// PUT  /api/cluster                         new config → version+1 → pushed to the master (200), 202 if queued
/// GET  /api/ha                              the master's last report, which master, since when
/// POST /api/vms/{vm}/protect|unprotect      through the master: 200 after its ack, 504 timeout, 503 no master
/// POST /api/vms/{vm}/power-on?host=H        admission control (409), hostd powerOn, then protect
/// POST /api/vms/{vm}/power-off              unprotect through the master, then hostd powerOff
/// ```
/// Protection counts only after the master committed it to the protectedlist (oracle §3.1), so
/// protect answers 200 only after the master's ack. Power-off unprotects **first**: otherwise the
/// master would restart the VM the user just stopped.
struct ControllerAPI: Sendable {
    let controller: Controller
    let options: ControllerOptions

    /// Routes one request.
    func handle(_ request: APIRequest) async -> APIResponse {
        let path = request.pathComponents
        let method = request.method
        if path == ["healthz"] {
            return method == "GET" ? await health() : methodNotAllowed(method, allowed: "GET")
        }
        if path == ["api", "cluster"] {
            switch method {
            case "GET": return await cluster()
            case "PUT": return await replaceCluster(request.body)
            default: return methodNotAllowed(method, allowed: "GET, PUT")
            }
        }
        if path == ["api", "ha"] {
            return method == "GET" ? await haState() : methodNotAllowed(method, allowed: "GET")
        }
        if path.count == 4, path[0] == "api", path[1] == "vms" {
            let actions = ["protect", "unprotect", "power-on", "power-off"]
            guard actions.contains(path[3]) else { return .error(404, "no such action \(path[3].debugDescription)") }
            guard method == "POST" else { return methodNotAllowed(method, allowed: "POST") }
            guard DatastoreFiles.isSafeComponent(path[2]) else { return .error(400, "invalid vm id") }
            let vm = VMID(path[2])
            switch path[3] {
            case "protect": return await setProtection(vm, true)
            case "unprotect": return await setProtection(vm, false)
            case "power-on": return await powerOn(vm, host: request.query["host"])
            default: return await powerOff(vm)
            }
        }
        return .error(404, "no such resource")
    }

    private func methodNotAllowed(_ method: String, allowed: String) -> APIResponse {
        .error(405, "method \(String(method.prefix(16))) not allowed here (allowed: \(allowed))")
    }

    // MARK: - Reads

    private struct Health: Encodable {
        var ok: Bool
        var master: HostID?
        var version: Int

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ok, forKey: .ok)
            try container.encode(master, forKey: .master)
            try container.encode(version, forKey: .version)
        }

        enum CodingKeys: String, CodingKey { case ok, master, version }
    }

    private func health() async -> APIResponse {
        .json(200, Health(ok: true, master: await controller.master?.host, version: await controller.config.version))
    }

    private struct ClusterView: Encodable {
        var version: Int
        var config: ClusterConfig
    }

    private func cluster() async -> APIResponse {
        let config = await controller.config
        return .json(200, ClusterView(version: config.version, config: config))
    }

    private struct HAView: Encodable {
        /// The master the controller talks to now (null when none).
        var master: Controller.MasterSession?
        /// The most recent master, connected or not.
        var lastMaster: HostID?
        /// The last state report (null before the first).
        var report: ControllerProtocol.StateReport?
        /// Unix time of that report.
        var reportedAt: Double?
        var pendingRequests: Int
        var counters: Controller.Counters

        enum CodingKeys: String, CodingKey { case master, lastMaster, report, reportedAt, pendingRequests, counters }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(master, forKey: .master)
            try container.encode(lastMaster, forKey: .lastMaster)
            try container.encode(report, forKey: .report)
            try container.encode(reportedAt, forKey: .reportedAt)
            try container.encode(pendingRequests, forKey: .pendingRequests)
            try container.encode(counters, forKey: .counters)
        }
    }

    private func haState() async -> APIResponse {
        let view = HAView(
            master: await controller.master, lastMaster: await controller.lastMasterHost, report: await controller.report,
            reportedAt: await controller.reportedAt, pendingRequests: await controller.pendingCount, counters: await controller.counters
        )
        return .json(200, view)
    }

    // MARK: - Configuration

    private struct ConfigUpdate: Encodable {
        var version: Int
        var applied: Bool
        var detail: String
    }

    private func replaceCluster(_ body: [UInt8]) async -> APIResponse {
        let newConfig: ClusterConfig
        do {
            newConfig = try JSONDecoder().decode(ClusterConfig.self, from: Data(body))
        } catch {
            return .error(400, "body is not a ClusterConfig: \(String("\(error)".prefix(300)))")
        }
        if let problem = Self.problem(with: newConfig) { return .error(400, problem) }
        do {
            _ = try ControllerProtocol.ControllerMessage.config(id: UInt64.max, config: newConfig).encodeLine()
        } catch {
            return .error(413, "configuration does not fit one agent protocol line (\(ControllerProtocol.maxLineBytes) bytes): \(error)")
        }
        let (version, outcome) = await controller.replaceConfig(newConfig)
        switch outcome {
        case .acked(ok: true, _):
            return .json(200, ConfigUpdate(version: version, applied: true, detail: "applied by the master"))
        case .acked(ok: false, let reason):
            return .json(502, ConfigUpdate(version: version, applied: false, detail: "the master did not apply it: \(reason)"))
        case .noMaster:
            return .json(202, ConfigUpdate(version: version, applied: false, detail: "no master connected: queued, pushed when a master says hello"))
        case .timedOut:
            return .json(202, ConfigUpdate(version: version, applied: false, detail: "pushed; no ack within \(options.ackTimeout)"))
        case .disconnected:
            return .json(202, ConfigUpdate(version: version, applied: false, detail: "the master session ended: queued for the next master"))
        case .busy:
            return .json(503, ConfigUpdate(version: version, applied: false, detail: "too many requests waiting for the master"))
        case .unencodable(let why):
            return .json(500, ConfigUpdate(version: version, applied: false, detail: why))
        }
    }

    /// Why a configuration cannot be used, or nil.
    static func problem(with config: ClusterConfig) -> String? {
        guard DatastoreFiles.isSafeComponent(config.name) else { return "cluster name \(config.name.debugDescription) is not a safe name" }
        var hosts = Set<HostID>()
        for host in config.hosts {
            guard DatastoreFiles.isSafeComponent(host.id.rawValue) else { return "host id \(host.id.rawValue.debugDescription) is not a safe name" }
            guard hosts.insert(host.id).inserted else { return "host \(host.id) listed twice" }
        }
        var vms = Set<VMID>()
        for vm in config.vms {
            guard DatastoreFiles.isSafeComponent(vm.id.rawValue) else { return "vm id \(vm.id.rawValue.debugDescription) is not a safe name" }
            guard DatastoreFiles.isSafeComponent(vm.homeDatastore.rawValue) else { return "vm \(vm.id) has an unsafe home datastore name" }
            guard vms.insert(vm.id).inserted else { return "vm \(vm.id) listed twice" }
        }
        return nil
    }

    // MARK: - Protection

    private struct ProtectionResult: Encodable {
        var vm: VMID
        var protected: Bool
        var committed: Bool
    }

    private func setProtection(_ vm: VMID, _ protected: Bool) async -> APIResponse {
        guard await controller.config.vm(vm) != nil else { return .error(404, "vm \(vm) is not in the cluster configuration") }
        let outcome = await controller.request(.protect(vm: vm, protected: protected))
        if case .acked(ok: true, _) = outcome {
            return .json(200, ProtectionResult(vm: vm, protected: protected, committed: true))
        }
        return failure(of: outcome, doing: protected ? "protect" : "unprotect")
    }

    /// The HTTP answer for a request to the master that did not succeed.
    private func failure(of outcome: Controller.RequestOutcome, doing what: String) -> APIResponse {
        let (status, message) = explain(outcome, doing: what)
        return .error(status, message)
    }

    /// The status and message for how a request to the master ended.
    private func explain(_ outcome: Controller.RequestOutcome, doing what: String) -> (status: Int, message: String) {
        switch outcome {
        case .acked(ok: true, _):
            (200, "\(what) committed by the master")
        case .acked(ok: false, let reason):
            (502, "the master did not commit \(what): \(reason)")
        case .noMaster:
            (503, "no master connected: cannot \(what)")
        case .timedOut:
            (504, "the master did not acknowledge \(what) within \(options.ackTimeout)")
        case .disconnected:
            (503, "the master session ended before it acknowledged \(what)")
        case .busy:
            (503, "too many requests waiting for the master")
        case .unencodable(let why):
            (500, why)
        }
    }

    // MARK: - Power operations

    private struct PowerResult: Encodable {
        var vm: VMID
        var host: HostID
        var poweredOn: Bool
        var protected: Bool
        var detail: String
    }

    private func powerOn(_ vm: VMID, host hostParameter: String?) async -> APIResponse {
        guard let hostParameter, DatastoreFiles.isSafeComponent(hostParameter) else {
            return .error(400, "power-on needs ?host=<host id>")
        }
        let host = HostID(hostParameter)
        let config = await controller.config
        guard let vmConfig = config.vm(vm) else { return .error(404, "vm \(vm) is not in the cluster configuration") }
        guard config.host(host) != nil else { return .error(404, "host \(host) is not in the cluster configuration") }
        guard vmConfig.compatibleHosts.isEmpty || vmConfig.compatibleHosts.contains(host) else {
            return .error(409, "vm \(vm) may not run on \(host) (compatible hosts: \(vmConfig.compatibleHosts.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let socket = options.hostdSockets[host] else { return .error(503, "no hostd socket configured for \(host)") }

        // Admission control: a vCenter function for user power-ons only (oracle §6.7).
        switch await controller.beginUserPowerOn(of: vmConfig, on: host) {
        case .alreadyPoweredOn(let running):
            return .error(409, "vm \(vm) is already powered on on \(running)")
        case .decided(.rejected(let reason)):
            return .error(409, reason)
        case .decided(.admitted):
            break
        }
        let result = await HostdCaller.call(socketPath: socket, op: .powerOn, vm: vm, reason: "user-poweron", timeout: options.hostdTimeout)
        await controller.finishUserPowerOn(of: vm, on: host, succeeded: result.ok)
        guard result.ok else { return .error(502, "hostd on \(host) did not power on \(vm): \(result.reason)") }

        // Then protect through the master; protection counts once committed (oracle §3.1).
        let outcome = await controller.request(.protect(vm: vm, protected: true))
        if case .acked(ok: true, _) = outcome {
            return .json(200, PowerResult(vm: vm, host: host, poweredOn: true, protected: true, detail: "powered on and protected"))
        }
        let why = explain(outcome, doing: "protect").message
        return .json(202, PowerResult(vm: vm, host: host, poweredOn: true, protected: false, detail: "powered on, not protected: \(why)"))
    }

    private func powerOff(_ vm: VMID) async -> APIResponse {
        guard await controller.config.vm(vm) != nil else { return .error(404, "vm \(vm) is not in the cluster configuration") }
        guard await controller.master != nil else { return .error(503, "no master connected: cannot unprotect \(vm) first") }
        guard let host = await controller.location(of: vm) else {
            return .error(409, "vm \(vm) is not powered on according to the master's last report")
        }
        guard let socket = options.hostdSockets[host] else { return .error(503, "no hostd socket configured for \(host)") }

        // Unprotect first, so the master does not restart the VM the user stops.
        let outcome = await controller.request(.protect(vm: vm, protected: false))
        guard case .acked(ok: true, _) = outcome else { return failure(of: outcome, doing: "unprotect") }

        let result = await HostdCaller.call(socketPath: socket, op: .powerOff, vm: vm, reason: "user-poweroff", timeout: options.hostdTimeout)
        guard result.ok else { return .error(502, "unprotected, but hostd on \(host) did not power off \(vm): \(result.reason)") }
        await controller.finishUserPowerOff(of: vm)
        return .json(200, PowerResult(vm: vm, host: host, poweredOn: false, protected: false, detail: "unprotected and powered off"))
    }
}
