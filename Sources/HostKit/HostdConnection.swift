import HACore
import NIOCore
import Synchronization

/// One open connection to hostd: requests with matching responses, and the event stream.
public final class HostdConnection: Sendable {
    /// Events (`vmPowerState`, `guestHeartbeat`, `vmIO`) in arrival order; the newest
    /// ``maxBufferedEvents`` are kept when nobody reads.
    public let events: AsyncStream<HostdEvent>
    /// How many unread events are kept.
    public static let maxBufferedEvents = 4096

    private let eventQueue: AsyncStream<HostdEvent>.Continuation
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let router = ResponseRouter()
    private let nextID = Atomic<Int>(0)
    private let requestTimeout: Duration

    init(outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, requestTimeout: Duration) {
        self.outbound = outbound
        self.requestTimeout = requestTimeout
        (events, eventQueue) = AsyncStream.makeStream(of: HostdEvent.self, bufferingPolicy: .bufferingNewest(Self.maxBufferedEvents))
    }

    /// Sends a request and waits for its response (at most the client's request timeout).
    ///
    /// - Parameters:
    ///   - op: The operation.
    ///   - vm: The VM (not for `list`).
    ///   - reason: The reason recorded by hostd.
    /// - Returns: hostd's response (`ok` may be false: that is an answer, not an error).
    public func request(_ op: HostdRequest.Operation, vm: VMID? = nil, reason: String? = nil) async throws -> HostdResponse {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let line = try JSONLines.encode(HostdRequest(id: id, op: op, vm: vm, reason: reason))
        try await outbound.write(ByteBuffer(string: line + "\n"))
        let router = self.router
        let timeout = requestTimeout
        return try await withThrowingTaskGroup(of: HostdResponse?.self) { group in
            group.addTask { try await router.response(for: id) }
            group.addTask {
                try await Task.sleep(for: timeout)
                await router.fail(id, HostKitError(.timeout, "no answer to request \(id) (\(op.rawValue)) within \(timeout)"))
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let response = next { return response }
            }
            throw HostKitError(.timeout, "no answer to request \(id)")
        }
    }

    func received(_ line: String) async {
        struct Probe: Decodable {
            var id: Int?
            var event: String?
        }
        guard let probe = try? JSONLines.decode(Probe.self, from: line) else { return }
        if probe.event != nil, let event = try? JSONLines.decode(HostdEvent.self, from: line) {
            eventQueue.yield(event)
        } else if probe.id != nil, let response = try? JSONLines.decode(HostdResponse.self, from: line) {
            await router.deliver(response)
        }
    }

    func closed() async {
        eventQueue.finish()
        await router.close()
    }
}

/// Matches responses to waiting requests by id.
actor ResponseRouter {
    private var waiting: [Int: CheckedContinuation<HostdResponse, any Error>] = [:]
    private var early: [Int: HostdResponse] = [:]
    private var isClosed = false

    func response(for id: Int) async throws -> HostdResponse {
        if let response = early.removeValue(forKey: id) { return response }
        if isClosed { throw HostKitError(.socket, "hostd closed the connection") }
        return try await withCheckedThrowingContinuation { waiting[id] = $0 }
    }

    func deliver(_ response: HostdResponse) {
        if let continuation = waiting.removeValue(forKey: response.id) {
            continuation.resume(returning: response)
        } else if early.count < 1024 {
            early[response.id] = response
        }
    }

    func fail(_ id: Int, _ error: HostKitError) {
        waiting.removeValue(forKey: id)?.resume(throwing: error)
    }

    func close() {
        isClosed = true
        for continuation in waiting.values { continuation.resume(throwing: HostKitError(.socket, "hostd closed the connection")) }
        waiting.removeAll()
    }
}
