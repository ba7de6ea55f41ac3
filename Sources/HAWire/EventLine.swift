import HACore

// MARK: - EventLine

/// One line of `N/logs/events.jsonl` (docs/NODES.md §6):
/// `{"wall":1714000000.25,"mono":12.5,"event":{…HAEvent…}}`.
///
/// `wall` (unix seconds) lets the harness place the event on the run's time line, since all
/// nodes share the machine's clock; `mono` is the agent's ``HACore/Instant`` in seconds.
public struct EventLine: JSONLineCodable, Hashable {
    /// Unix time of the emission, in seconds.
    public var wall: Double
    /// The agent's monotonic time, in seconds (``HACore/Instant/seconds``).
    public var mono: Double
    /// The evidence.
    public var event: HAEvent

    /// Creates a line.
    public init(wall: Double, mono: Double, event: HAEvent) {
        self.wall = wall
        self.mono = mono
        self.event = event
    }

    /// Both times MUST be finite.
    public func validate() throws(JSONLineError) {
        guard wall.isFinite, mono.isFinite else { throw JSONLineError(.invalidValue, "wall \(wall), mono \(mono)") }
    }
}
