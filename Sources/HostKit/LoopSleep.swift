#if canImport(Glibc)
import Glibc
#endif
import HACore

/// Sleeping in bounded slices for the synchronous run loops of vm-workload and ha-node.
///
/// These programs are single-threaded loops that must notice signals within milliseconds, so
/// they sleep with `nanosleep` in slices instead of using timers.
public enum LoopSleep {
    /// The longest single sleep of a run loop: the bound on signal-reaction latency.
    public static let maxSlice = Duration.milliseconds(20)

    /// Sleeps `duration` (at most ``maxSlice``; negative spans return at once).
    public static func sleep(_ duration: Duration) {
        let span = min(duration, maxSlice)
        guard span > .zero else { return }
        let nanoseconds = span.nanoseconds
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        _ = nanosleep(&request, nil)
    }
}
