import Foundation

/// A client of the Docker Engine API over its unix socket (HTTP/1.1 through libcurl). Every
/// call is one request on a thread of its own; nothing parses `docker` CLI output.
///
/// Error conventions: removals treat 404 as success (already gone); start and stop treat 304
/// (already in that state) as success; everything else outside 2xx throws a ``DockerError``
/// carrying the daemon's status and message, and the caller decides (e.g. a 409 from
/// ``containerKill(_:signal:)`` for a container that is not running).
public struct DockerEngine: Sendable {
    /// Where dockerd listens by default.
    public static let defaultSocket = "/var/run/docker.sock"

    /// The daemon's unix socket.
    public var socketPath: String
    /// The API version prefix of every path (`"v1.41"`).
    public var apiVersion: String

    /// A client of the daemon at `socketPath`, speaking API `apiVersion`.
    public init(socketPath: String = Self.defaultSocket, apiVersion: String = "v1.41") {
        self.socketPath = socketPath
        self.apiVersion = apiVersion
    }

    // MARK: - Daemon

    /// Whether the daemon answers `GET /_ping` with `OK` within `timeout`.
    public func ping(timeout: Duration = .seconds(2)) async -> Bool {
        guard let response = try? await send("GET", "/_ping", timeout: timeout) else { return false }
        return response.status == 200 && String(decoding: response.body, as: UTF8.self) == "OK"
    }

    /// `GET /version`.
    public func version() async throws(DockerError) -> DockerVersion {
        let response = try await call("GET", "/version")
        return try decode(DockerVersion.self, from: response, request: "GET /version")
    }

    // MARK: - Images

    /// `GET /images/{name}/json`; `nil` when there is no such image.
    public func imageInspect(_ name: String) async throws(DockerError) -> DockerImage? {
        let path = "/images/\(Self.segment(name, keepSlash: true))/json"
        let response = try await send("GET", path)
        if response.status == 404 { return nil }
        guard response.isSuccess else { throw DockerError(status: response.status, body: response.body, request: "GET \(path)") }
        return try decode(DockerImage.self, from: response, request: "GET \(path)")
    }

    /// Imports a root filesystem tarball as `repository:tag`, applying Dockerfile `changes`
    /// (`"CMD [\"/bin/sh\"]"`, `"LABEL a=b"`...): `POST /images/create?fromSrc=-`. The daemon
    /// reports failures inside its 200 progress stream; those are thrown too.
    public func imageImport(tar: Data, repository: String, tag: String, changes: [String]) async throws(DockerError) {
        let path = "/images/create"
        var query = [("fromSrc", "-"), ("repo", repository), ("tag", tag)]
        query += changes.map { ("changes", $0) }
        let response = try await call("POST", path, query: query, body: tar, contentType: "application/x-tar", timeout: .seconds(300))
        // Newline-delimited progress JSON; an `error` member is a failure.
        struct Progress: Decodable {
            var error: String?
        }
        for line in response.body.split(separator: UInt8(ascii: "\n")) {
            if let progress = try? JSONDecoder().decode(Progress.self, from: Data(line)), let error = progress.error {
                throw DockerError(status: response.status, message: error, request: "POST \(path)")
            }
        }
    }

    /// `DELETE /images/{name}`; an image that is already gone is success.
    public func imageRemove(_ name: String, force: Bool) async throws(DockerError) {
        try await call("DELETE", "/images/\(Self.segment(name, keepSlash: true))", query: [("force", force ? "1" : "0")], accept: [404])
    }

    // MARK: - Containers

    /// `POST /containers/create?name=`; returns the new container's ID.
    public func containerCreate(name: String, spec: ContainerSpec) async throws(DockerError) -> String {
        let response = try await call("POST", "/containers/create", query: [("name", name)], json: spec)
        return try decode(CreatedID.self, from: response, request: "POST /containers/create").id
    }

    /// `POST /containers/{id}/start`; an already running container (304) is success.
    public func containerStart(_ idOrName: String) async throws(DockerError) {
        try await call("POST", "/containers/\(Self.segment(idOrName))/start", accept: [304])
    }

    /// `POST /containers/{id}/stop?t=`: the stop signal, then SIGKILL after `timeoutSeconds`.
    /// An already stopped container (304) is success.
    public func containerStop(_ idOrName: String, timeoutSeconds: Int) async throws(DockerError) {
        try await call(
            "POST", "/containers/\(Self.segment(idOrName))/stop", query: [("t", String(timeoutSeconds))],
            timeout: .seconds(max(timeoutSeconds, 0) + 30), accept: [304]
        )
    }

    /// `POST /containers/{id}/kill?signal=`. A container that is not running answers 409
    /// (thrown: ``DockerError/isConflict``).
    public func containerKill(_ idOrName: String, signal: String = "KILL") async throws(DockerError) {
        try await call("POST", "/containers/\(Self.segment(idOrName))/kill", query: [("signal", signal)])
    }

    /// `POST /containers/{id}/pause` (the cgroup freezer). 409 when not running.
    public func containerPause(_ idOrName: String) async throws(DockerError) {
        try await call("POST", "/containers/\(Self.segment(idOrName))/pause")
    }

    /// `POST /containers/{id}/unpause`. 409 when not paused.
    public func containerUnpause(_ idOrName: String) async throws(DockerError) {
        try await call("POST", "/containers/\(Self.segment(idOrName))/unpause")
    }

    /// `GET /containers/{id}/json`.
    public func containerInspect(_ idOrName: String) async throws(DockerError) -> ContainerInfo {
        let path = "/containers/\(Self.segment(idOrName))/json"
        return try decode(ContainerInfo.self, from: try await call("GET", path), request: "GET \(path)")
    }

    /// `DELETE /containers/{id}?force=&v=1` (anonymous volumes too); a container that is
    /// already gone is success.
    public func containerRemove(_ idOrName: String, force: Bool = true) async throws(DockerError) {
        try await call("DELETE", "/containers/\(Self.segment(idOrName))", query: [("force", force ? "1" : "0"), ("v", "1")], accept: [404])
    }

    /// `GET /containers/json` of the containers carrying `label` (`"key"` or `"key=value"`);
    /// stopped ones too unless `all` is false.
    public func containerList(label: String, all: Bool = true) async throws(DockerError) -> [ContainerSummary] {
        let response = try await call("GET", "/containers/json", query: [("all", all ? "1" : "0"), ("filters", Self.labelFilter(label))])
        return try decode([ContainerSummary].self, from: response, request: "GET /containers/json")
    }

    /// The container's processes as host PIDs and command lines:
    /// `GET /containers/{id}/top?ps_args=-eo pid,args`.
    public func containerTop(_ idOrName: String) async throws(DockerError) -> [(pid: Int32, command: String)] {
        let path = "/containers/\(Self.segment(idOrName))/top"
        let response = try await call("GET", path, query: [("ps_args", "-eo pid,args")])
        struct Top: Decodable {
            var titles: [String]?
            var processes: [[String]]?
            enum CodingKeys: String, CodingKey { case titles = "Titles", processes = "Processes" }
        }
        let top = try decode(Top.self, from: response, request: "GET \(path)")
        let titles = top.titles ?? []
        let pidColumn = titles.firstIndex(of: "PID") ?? 0
        let commandColumn = titles.firstIndex { ["COMMAND", "CMD", "ARGS"].contains($0) } ?? max(titles.count - 1, 0)
        return (top.processes ?? []).compactMap { row in
            guard pidColumn < row.count, let pid = Int32(row[pidColumn].trimmingCharacters(in: .whitespaces)) else { return nil }
            return (pid, commandColumn < row.count ? row[commandColumn] : "")
        }
    }

    // MARK: - Exec

    /// Runs `argv` in the running `container` and waits for it: `POST /containers/{id}/exec`,
    /// then `POST /exec/{id}/start` attached without a TTY (the multiplexed stream is split
    /// into stdout and stderr), then `GET /exec/{id}/json` for the exit status.
    public func exec(_ container: String, _ argv: [String], timeout: Duration = .seconds(120)) async throws(DockerError) -> ExecResult {
        let id = try await execCreate(container, argv, attach: true)
        let response = try await call("POST", "/exec/\(Self.segment(id))/start", json: ExecStart(detach: false), timeout: timeout)
        var demuxer = DockerStreamDemuxer()
        demuxer.feed(response.body)
        // The stream ends when the process's pipes close; its exit status can lag a little.
        var inspect = try await execInspect(id)
        let deadline = ContinuousClock.now + .seconds(5)
        while inspect.running, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
            inspect = try await execInspect(id)
        }
        return ExecResult(
            stdout: String(decoding: demuxer.stdout, as: UTF8.self), stderr: String(decoding: demuxer.stderr, as: UTF8.self),
            exitCode: inspect.running ? -1 : inspect.exitCode ?? -1
        )
    }

    /// Starts `argv` in the running `container` without waiting for it, and returns the exec's
    /// ID and the host PID of its process (waiting up to 5 s for the daemon to report it).
    public func execDetached(_ container: String, _ argv: [String]) async throws(DockerError) -> (execID: String, pid: Int32) {
        let id = try await execCreate(container, argv, attach: false)
        try await call("POST", "/exec/\(Self.segment(id))/start", json: ExecStart(detach: true))
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let inspect = try await execInspect(id)
            if inspect.pid != 0 { return (id, inspect.pid) }
            guard ContinuousClock.now < deadline else {
                throw DockerError(status: 0, message: "exec \(id) reported no PID within 5 s", request: "GET /exec/\(id)/json")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// `POST /containers/{id}/exec`; returns the exec's ID.
    private func execCreate(_ container: String, _ argv: [String], attach: Bool) async throws(DockerError) -> String {
        struct Create: Encodable {
            var attachStdout: Bool
            var attachStderr: Bool
            var tty = false
            var cmd: [String]
            enum CodingKeys: String, CodingKey { case attachStdout = "AttachStdout", attachStderr = "AttachStderr", tty = "Tty", cmd = "Cmd" }
        }
        let path = "/containers/\(Self.segment(container))/exec"
        let response = try await call("POST", path, json: Create(attachStdout: attach, attachStderr: attach, cmd: argv))
        return try decode(CreatedID.self, from: response, request: "POST \(path)").id
    }

    /// `GET /exec/{id}/json`.
    private func execInspect(_ id: String) async throws(DockerError) -> ExecInspect {
        let path = "/exec/\(Self.segment(id))/json"
        return try decode(ExecInspect.self, from: try await call("GET", path), request: "GET \(path)")
    }

    /// The body of `POST /exec/{id}/start`.
    private struct ExecStart: Encodable {
        var detach: Bool
        var tty = false
        enum CodingKeys: String, CodingKey { case detach = "Detach", tty = "Tty" }
    }

    // MARK: - Networks

    /// `POST /networks/create`; returns the new network's ID.
    public func networkCreate(_ spec: NetworkSpec) async throws(DockerError) -> String {
        let response = try await call("POST", "/networks/create", json: spec)
        return try decode(CreatedID.self, from: response, request: "POST /networks/create").id
    }

    /// `GET /networks/{id}`.
    public func networkInspect(_ idOrName: String) async throws(DockerError) -> NetworkInfo {
        let path = "/networks/\(Self.segment(idOrName))"
        return try decode(NetworkInfo.self, from: try await call("GET", path), request: "GET \(path)")
    }

    /// `DELETE /networks/{id}`; a network that is already gone is success.
    public func networkRemove(_ idOrName: String) async throws(DockerError) {
        try await call("DELETE", "/networks/\(Self.segment(idOrName))", accept: [404])
    }

    /// `GET /networks` of the networks carrying `label` (`"key"` or `"key=value"`; `nil`: every
    /// network). The list does not fill in ``NetworkInfo/containers``; ``networkInspect(_:)`` does.
    public func networkList(label: String?) async throws(DockerError) -> [NetworkInfo] {
        let query = label.map { [("filters", Self.labelFilter($0))] } ?? []
        let response = try await call("GET", "/networks", query: query)
        return try decode([NetworkInfo].self, from: response, request: "GET /networks")
    }

    // MARK: - Events

    /// Subscribes to `GET /events` of the objects carrying `label` (`"key"` or `"key=value"`),
    /// from `since` (so that events between a call and the subscription are not lost) or from
    /// now. The subscription runs on a thread of its own until ``DockerEventStream/stop()``.
    public func events(label: String, since: Date? = nil) -> DockerEventStream {
        var query = [("filters", Self.labelFilter(label))]
        if let since {
            let seconds = since.timeIntervalSince1970
            let whole = seconds.rounded(.down)
            let nanos = min(Int(((seconds - whole) * 1e9).rounded()), 999_999_999)
            let fraction = String(nanos)
            query.append(("since", "\(Int(whole)).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"))
        }
        return DockerEventStream(socketPath: socketPath, url: url("/events", query), request: "GET /events")
    }

    /// The `filters` query value selecting `label`.
    static func labelFilter(_ label: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(["label": [label]])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
