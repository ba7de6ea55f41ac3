/// One resource a run creates on the machine, as recorded in its ``RunJournal``.
///
/// The entry is appended (state `planned`) and fsynced **before** the resource is created,
/// then appended again as `created`, and finally as `removed`. Whatever is not `removed`
/// when a run dies is undone by the ``Reaper`` with ``undo``, in reverse order.
public struct JournalEntry: Hashable, Sendable, Codable {
    /// What sort of thing the entry stands for.
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case netns, link, chain, mount, cgroup, process, dir, container, network, image
    }

    /// Where the resource is in its life.
    public enum State: String, Hashable, Sendable, Codable, CaseIterable {
        case planned, created, removed
    }

    /// Position in the journal (1-based, in creation order).
    public var seq: Int
    public var kind: Kind
    /// The resource's name or path (it carries the run id unless ``shared``).
    public var name: String
    /// The argv lists that remove the resource, run in order (an "already gone" failure is success).
    public var undo: [[String]]
    public var state: State
    /// A resource every run uses (e.g. `/sys/fs/cgroup/freezer/hachaos`, `/vmfs/volumes`):
    /// undone only when no other run is alive, because removing it would break that run.
    public var shared: Bool

    public init(seq: Int, kind: Kind, name: String, undo: [[String]], state: State, shared: Bool = false) {
        self.seq = seq
        self.kind = kind
        self.name = name
        self.undo = undo
        self.state = state
        self.shared = shared
    }

    private enum CodingKeys: String, CodingKey { case seq, kind, name, undo, state, shared }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int.self, forKey: .seq)
        kind = try container.decode(Kind.self, forKey: .kind)
        name = try container.decode(String.self, forKey: .name)
        undo = try container.decode([[String]].self, forKey: .undo)
        state = try container.decode(State.self, forKey: .state)
        shared = try container.decodeIfPresent(Bool.self, forKey: .shared) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(kind, forKey: .kind)
        try container.encode(name, forKey: .name)
        try container.encode(undo, forKey: .undo)
        try container.encode(state, forKey: .state)
        if shared { try container.encode(shared, forKey: .shared) }
    }
}

/// What a plan step asks the journal to record before it creates something.
public struct JournalResource: Hashable, Sendable {
    public var kind: JournalEntry.Kind
    public var name: String
    public var undo: [[String]]
    public var shared: Bool

    public init(kind: JournalEntry.Kind, name: String, undo: [[String]], shared: Bool = false) {
        self.kind = kind
        self.name = name
        self.undo = undo
        self.shared = shared
    }
}
