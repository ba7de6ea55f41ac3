import CurlShim
import Foundation
import Synchronization

/// Splits the Engine's multiplexed exec/attach stream (non-TTY) into stdout and stderr. Each
/// frame is an 8-byte header — stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, and
/// the payload size as a big-endian `UInt32` — followed by the payload. Frames may arrive
/// split across any number of chunks.
public struct DockerStreamDemuxer: Sendable {
    /// Everything written to stdout so far (and stdin echoes, which the Engine sends as 0).
    public private(set) var stdout = Data()
    /// Everything written to stderr so far.
    public private(set) var stderr = Data()
    private var pending: [UInt8] = []

    /// An empty demuxer.
    public init() {}

    /// The bytes of an incomplete frame still waiting for the rest.
    public var pendingCount: Int { pending.count }

    /// Consumes the next chunk of the stream.
    public mutating func feed(_ chunk: some Sequence<UInt8>) {
        pending.append(contentsOf: chunk)
        var offset = 0
        while pending.count - offset >= 8 {
            let size =
                Int(pending[offset + 4]) << 24 | Int(pending[offset + 5]) << 16 | Int(pending[offset + 6]) << 8 | Int(pending[offset + 7])
            guard pending.count - offset - 8 >= size else { break }
            let payload = pending[(offset + 8)..<(offset + 8 + size)]
            if pending[offset] == 2 { stderr.append(contentsOf: payload) } else { stdout.append(contentsOf: payload) }
            offset += 8 + size
        }
        if offset > 0 { pending.removeFirst(offset) }
    }
}

/// One event of `GET /events`: what happened (``action``) to which object (``actorID``).
public struct DockerEvent: Sendable, Decodable, Hashable {
    /// `container`, `network`, `image`...
    public var type: String
    /// `create`, `start`, `die`, `kill`, `pause`, `unpause`, `oom`, `destroy`, `connect`... (exec
    /// events carry their command: `exec_start: sh -c ...`).
    public var action: String
    /// The container's (or network's...) ID.
    public var actorID: String
    /// `name`, `image`, `exitCode` (die), `signal` (kill) and the object's labels.
    public var attributes: [String: String]
    /// Seconds since 1970, from `timeNano`.
    public var time: Double

    /// An event with the given fields.
    public init(type: String, action: String, actorID: String, attributes: [String: String], time: Double) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.time = time
    }

    /// The container's (or network's) name, without a leading `/`.
    public var name: String? { attributes["name"] }
    /// The exit status of a `die`.
    public var exitCode: Int? { attributes["exitCode"].flatMap { Int($0) } }

    struct NoAction: Error {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        // Pre-1.22 fields (`status`, `id`) stand in for missing new ones.
        guard let action: String = c.lenient(AnyKey("Action")) ?? c.lenient(AnyKey("status")) else { throw NoAction() }
        self.action = action
        type = c.lenient(AnyKey("Type"), "container")
        let actor = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("Actor"))
        actorID = actor?.lenient(AnyKey("ID")) ?? c.lenient(AnyKey("id"), "")
        attributes = actor?.lenient(AnyKey("Attributes"), [:]) ?? [:]
        if let nanos: Int64 = c.lenient(AnyKey("timeNano")) {
            time = Double(nanos / 1_000_000_000) + Double(nanos % 1_000_000_000) / 1e9
        } else {
            time = c.lenient(AnyKey("time"), 0)
        }
    }
}

/// Cuts the newline-delimited JSON of `GET /events` into ``DockerEvent``s; lines that are not
/// events are skipped.
public struct DockerEventDecoder: Sendable {
    private var pending: [UInt8] = []

    /// An empty decoder.
    public init() {}

    /// Consumes the next chunk and returns the events it completed.
    public mutating func feed(_ chunk: some Sequence<UInt8>) -> [DockerEvent] {
        pending.append(contentsOf: chunk)
        var events: [DockerEvent] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[start..<newline]
            start = newline + 1
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
            if let event = try? JSONDecoder().decode(DockerEvent.self, from: Data(line)) { events.append(event) }
        }
        if start > 0 { pending.removeFirst(start) }
        return events
    }
}

/// A live `GET /events` subscription: iterate ``events``; call ``stop()`` to end it (the
/// stream then finishes within about 50 ms). Ending the iteration, or dropping ``events``,
/// also stops it.
public final class DockerEventStream: Sendable {
    /// The events, in the daemon's order; finishes on ``stop()``, when the daemon ends the
    /// response, or on error (see ``failure``).
    public let events: AsyncStream<DockerEvent>
    private let control: StreamControl

    /// Why the stream ended, if not by ``stop()`` or the daemon's end of the response.
    public var failure: DockerError? { control.failure }

    /// Ends the subscription; idempotent.
    public func stop() { control.stop() }

    /// Drains ``events`` until the stream finishes; `false` when it has not finished within
    /// `limit` (a stream that ignores ``stop()`` would otherwise hang its caller for good).
    public func awaitEnd(within limit: Duration) async -> Bool {
        let events = events
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in events {}
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Whether the subscription has ended (stopped, ended by the daemon, or failed) and
    /// ``events`` has finished or is about to.
    public var isFinished: Bool { control.isFinished }

    /// Subscribes to `url` over `socketPath` on a thread of its own.
    init(socketPath: String, url: String, request: String) {
        let control = StreamControl()
        self.control = control
        let (events, continuation) = AsyncStream.makeStream(of: DockerEvent.self, bufferingPolicy: .unbounded)
        self.events = events
        continuation.onTermination = { _ in control.stop() }
        let context = StreamContext(continuation: continuation, control: control)
        Thread.detachNewThread {
            context.run(socketPath: socketPath, url: url, request: request)
        }
    }
}

/// The stop flag and outcome shared by a ``DockerEventStream`` and its thread.
private final class StreamControl: Sendable {
    private let state = Mutex<(stopped: Bool, finished: Bool, failure: DockerError?)>((false, false, nil))

    var isStopped: Bool { state.withLock { $0.stopped } }
    var isFinished: Bool { state.withLock { $0.finished } }
    var failure: DockerError? { state.withLock { $0.failure } }
    func stop() { state.withLock { $0.stopped = true } }
    func finish(_ error: DockerError?) {
        state.withLock {
            $0.finished = true
            $0.failure = error
        }
    }
}

/// What the C callbacks of one event subscription see; touched only by its thread.
private final class StreamContext: @unchecked Sendable {
    let continuation: AsyncStream<DockerEvent>.Continuation
    let control: StreamControl
    var decoder = DockerEventDecoder()
    /// The HTTP status, written by the C side before each chunk.
    let status = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    /// The body of an error answer (bounded).
    var errorBody = Data()

    init(continuation: AsyncStream<DockerEvent>.Continuation, control: StreamControl) {
        self.continuation = continuation
        self.control = control
        status.initialize(to: 0)
    }

    deinit { status.deallocate() }

    func run(socketPath: String, url: String, request: String) {
        var errbuf = [CChar](repeating: 0, count: Int(HAC_CURL_ERROR_SIZE))
        let unmanaged = Unmanaged.passRetained(self)
        defer { unmanaged.release() }
        let code = hac_curl_stream(
            socketPath, url, status,
            { ctx, data, len in
                guard let ctx, let data else { return }
                let context = Unmanaged<StreamContext>.fromOpaque(ctx).takeUnretainedValue()
                context.received(UnsafeRawBufferPointer(start: data, count: len))
            },
            { ctx in
                guard let ctx else { return 1 }
                return Unmanaged<StreamContext>.fromOpaque(ctx).takeUnretainedValue().control.isStopped ? 1 : 0
            },
            unmanaged.toOpaque(), &errbuf
        )
        if code != 0 {
            control.finish(DockerError(status: 0, message: "curl error \(code): \(DockerEngine.cString(errbuf))", request: request))
        } else if status.pointee != 200 && status.pointee != 0 {
            control.finish(DockerError(status: status.pointee, body: errorBody, request: request))
        } else {
            control.finish(nil)
        }
        continuation.finish()
    }

    func received(_ bytes: UnsafeRawBufferPointer) {
        guard status.pointee == 200 else {
            if errorBody.count < 4096 { errorBody.append(contentsOf: bytes) }
            return
        }
        for event in decoder.feed(bytes) { continuation.yield(event) }
    }
}
