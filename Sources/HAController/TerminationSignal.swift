#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// MARK: - TerminationSignal

/// SIGTERM/SIGINT as a flag the main task polls (a signal handler may only store an atomic).
enum TerminationSignal {
    static let requested = Atomic<Bool>(false)

    /// Installs the handlers.
    static func install() {
        signal(SIGTERM) { _ in TerminationSignal.requested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in TerminationSignal.requested.store(true, ordering: .relaxed) }
    }

    /// Returns once a signal arrived (checked every 50 ms), or when the task is cancelled.
    static func wait() async {
        while !requested.load(ordering: .relaxed), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
