import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counts of received signals, set by async-signal-safe handlers and polled by the run loops.
///
/// The handlers only increment lock-free atomics, which is all a signal handler may do; the
/// programs' loops read the counts every few milliseconds. `Atomic` values in static `let`s are
/// `Sendable` by construction, so no `@unchecked` is needed.
public enum SignalFlags {
    /// SIGTERM deliveries since ``install(_:)``.
    public static let terminate = Atomic<Int>(0)
    /// SIGINT deliveries.
    public static let interrupt = Atomic<Int>(0)
    /// SIGUSR1 deliveries (vm-workload: toggles the hung-guest mode).
    public static let user1 = Atomic<Int>(0)

    /// The signals this type can count.
    public enum Counted: Sendable, CaseIterable {
        case terminate
        case interrupt
        case user1

        var number: Int32 {
            switch self {
            case .terminate: SIGTERM
            case .interrupt: SIGINT
            case .user1: SIGUSR1
            }
        }
    }

    /// Installs counting handlers for `signals`.
    public static func install(_ signals: [Counted]) {
        for counted in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                switch number {
                case SIGTERM: SignalFlags.terminate.add(1, ordering: .relaxed)
                case SIGINT: SignalFlags.interrupt.add(1, ordering: .relaxed)
                case SIGUSR1: SignalFlags.user1.add(1, ordering: .relaxed)
                default: break
                }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(counted.number, &action, nil)
        }
    }

    /// Ignores `signal` (`SIG_IGN`), e.g. SIGPIPE for programs writing to pipes and sockets.
    public static func ignore(_ signal: Int32) {
        Glibc.signal(signal, SIG_IGN)
    }

    /// Whether SIGTERM or SIGINT arrived.
    public static var stopRequested: Bool {
        terminate.load(ordering: .relaxed) > 0 || interrupt.load(ordering: .relaxed) > 0
    }
}
