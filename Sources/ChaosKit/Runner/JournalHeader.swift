/// The first line of a journal: whose run it is, so that the reaper can tell a dead run from
/// a live one (the owner PID is alive **and** has the recorded start time: PIDs are reused).
public struct JournalHeader: Hashable, Sendable, Codable {
    /// Format version.
    public var journal: Int
    public var runID: RunID
    public var ownerPID: Int32
    /// Field 22 of `/proc/<pid>/stat` (clock ticks since boot) when the journal was created.
    public var ownerStartTicks: UInt64?
    /// Unix seconds.
    public var createdAt: Double
    /// The /24 of 198.18.0.0/15 the run claimed (``SubnetClaim``), so that runs starting at the
    /// same time never pick the same one. Absent in journals that claim none.
    public var subnetIndex: Int?

    public init(runID: RunID, ownerPID: Int32, ownerStartTicks: UInt64?, createdAt: Double, subnetIndex: Int? = nil) {
        self.journal = 1
        self.runID = runID
        self.ownerPID = ownerPID
        self.ownerStartTicks = ownerStartTicks
        self.createdAt = createdAt
        self.subnetIndex = subnetIndex
    }
}

/// A journal file as read back: its header and the latest state of every entry, in `seq` order.
public struct JournalContents: Hashable, Sendable {
    public var path: String
    public var header: JournalHeader
    public var entries: [JournalEntry]
    /// Lines that could not be decoded (a torn last line after a crash).
    public var unreadableLines: Int

    /// Entries not yet `removed`.
    public var outstanding: [JournalEntry] { entries.filter { $0.state != .removed } }
}
