/// The Fault Domain Manager: the vSphere-HA-style agent algorithm, as pure values.
///
/// Everything in this module is deterministic: no Foundation, no clock, no I/O, no randomness.
/// Inputs are ``FDM/Event`` values carrying the local monotonic ``FDM/Instant``; outputs are
/// ``FDM/Directive`` values that a shell (the real `ha-agent`, the simulator, a unit test) MUST
/// carry out in order.
///
/// Glossary (names follow `shared/reference/vsphere-ha-behaviour.md`):
/// - *master*/*slave*: the two agent roles (§1.2). One master per management partition.
/// - *protectedlist*: per-datastore file whose exclusive lock makes a master the owner of the VMs
///   whose home datastore it is (§3.1).
/// - *poweron file*: per-host file listing the VMs powered on there; line 1 is the isolation flag.
/// - *poweredoff marker*: per-VM file written before an isolation response powers the VM off.
/// - *isolation response*: what an isolated host does to its VMs (§5).
public enum FDM {}

/// A point on one host's monotonic clock, in nanoseconds since an arbitrary local origin.
///
/// Instants from different hosts MUST never be compared: staleness across hosts is always
/// "a counter unchanged for a span of my own time" (DESIGN §3).
public struct Instant: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Nanoseconds since the local origin.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The origin of a clock.
    public static let zero = Instant(nanoseconds: 0)

    /// An instant `seconds` after the origin (tests and the simulator).
    public static func seconds(_ seconds: Double) -> Instant {
        Instant(nanoseconds: Int64((seconds * 1e9).rounded()))
    }

    /// This instant as floating-point seconds since the origin (reports only).
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &- rhs.nanoseconds)
    }

    /// The span from `earlier` to `self` (negative when `earlier` is later).
    public func duration(since earlier: Instant) -> Duration {
        .nanoseconds(nanoseconds &- earlier.nanoseconds)
    }

    public var description: String { "T\(formatSeconds(seconds))" }
}

extension Duration {
    /// The whole span in nanoseconds (saturating; spans here are far below 292 years).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

    /// The span in floating-point seconds.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// This span multiplied by `factor`, rounded to the nanosecond.
    public func scaled(by factor: Double) -> Duration {
        .nanoseconds(Int64((Double(nanoseconds) * factor).rounded()))
    }
}

/// Formats seconds with at most three decimals, without Foundation.
public func formatSeconds(_ value: Double) -> String {
    let millis = Int64((value * 1000).rounded())
    let sign = millis < 0 ? "-" : ""
    let magnitude = millis < 0 ? -millis : millis
    let whole = magnitude / 1000
    let fraction = magnitude % 1000
    if fraction == 0 { return "\(sign)\(whole)" }
    var digits = String(fraction)
    while digits.count < 3 { digits = "0" + digits }
    while digits.hasSuffix("0") { digits.removeLast() }
    return "\(sign)\(whole).\(digits)"
}
