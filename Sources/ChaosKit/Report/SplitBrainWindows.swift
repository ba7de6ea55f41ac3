import HACore

/// Split-brain windows of a run, for people: every span during which one VM had two live
/// instances, which instance was stale, and how it ended (issue 3: "the report shows two live
/// instances of the VM during the window and the stale one powered off after heal").
///
/// The judgement (allowed or not) stays with the checker (INV-SB1…SB3); this only describes.
public struct SplitBrainWindow: Hashable, Sendable, Codable {
    public var vm: String
    /// The instance that ran first (the one the restart duplicated).
    public var staleInstance: String
    public var staleHost: String
    public var staleEndReason: String
    public var newInstance: String
    public var newHost: String
    /// Model seconds since the run's start.
    public var from: Double
    public var to: Double
    /// Model seconds.
    public var length: Double { to - from }

    /// One sentence: "vm-01: 2 live instances for 41.2 s (T+…): stale one on host-2 ended lost-lock".
    public var summary: String {
        "\(vm): 2 live instances for \(formatSeconds(length)) s (model \(formatSeconds(from))–\(formatSeconds(to)) s), "
            + "\(staleInstance) on \(staleHost) and \(newInstance) on \(newHost); the stale one ended \(staleEndReason)"
    }

    /// Every window of `history`, in time order.
    public static func of(_ history: History) -> [SplitBrainWindow] {
        let c = CheckContext(history)
        return Invariants.duplicates(c).map { d in
            let stale = d.older
            return SplitBrainWindow(
                vm: stale.vm.rawValue, staleInstance: stale.instance, staleHost: stale.host.rawValue,
                staleEndReason: stale.end == nil ? "still running at the end of the run" : stale.endReason.rawValue,
                newInstance: d.newer.instance, newHost: d.newer.host.rawValue,
                from: c.model(d.from), to: c.model(d.to)
            )
        }.sorted { ($0.from, $0.vm) < ($1.from, $1.vm) }
    }
}
