import HACore

/// One line of live progress for a piece of agent evidence, or nil when the event is routine.
///
/// Terminal progress (issue 4 item 2) shows the moments an HA engineer follows a run by: master
/// changes and elections, host states as the master sees them, isolation, restarts. Heartbeat
/// monitoring, lock traffic and configuration pushes stay in `events.jsonl`.
public enum ProgressLine {
    /// - Parameters:
    ///   - event: The evidence, at run time.
    ///   - timeScale: The run's scale (progress is printed in model seconds).
    public static func line(for event: TimedEvent, timeScale: Double) -> String? {
        let host = event.event.host.rawValue
        let text: String
        switch event.event.kind {
        case .roleChanged(let role) where role == .master: text = "\(host) became master"
        case .electionStarted: text = "\(host) started an election"
        case .hostStateChanged(let target, let state) where state != .alive: text = "\(host) (master) sees \(target) \(state.rawValue)"
        case .isolationDeclared: text = "\(host) declared itself isolated"
        case .isolationCleared(let reason): text = "\(host) isolation cleared (\(reason))"
        case .isolationResponseApplied(let vm, let response, _): text = "\(host) applied \(response.rawValue) to \(vm)"
        case .isolationResponseDeferred(let vm): text = "\(host) deferred the isolation response for \(vm)"
        case .restartIssued(let vm, let target, let attempt, _): text = "\(host) restarts \(vm) on \(target) (attempt \(attempt))"
        case .restartSucceeded(let vm, let target, _): text = "\(vm) running on \(target) (restart by \(host))"
        case .restartFailed(let vm, let target, let attempt, let reason): text = "\(host) restart of \(vm) on \(target) failed (attempt \(attempt)): \(reason)"
        case .restartGaveUp(let vm, let attempts): text = "\(host) gave up restarting \(vm) after \(attempts) attempts"
        case .componentProtectionKill(let vm, let ds): text = "\(host) VMCP killed \(vm) (\(ds))"
        case .apdTimeout(let ds): text = "\(host) APD timeout on \(ds)"
        case .agentStarted: text = "\(host) agent started"
        case .agentStopped(let reason): text = "\(host) agent stopped (\(reason))"
        default: return nil
        }
        return "t=\(formatSeconds(event.time / timeScale))s \(text)"
    }
}
