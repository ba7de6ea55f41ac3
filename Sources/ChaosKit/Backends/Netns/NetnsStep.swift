/// One bring-up or tear-down step: what to journal, then what to do.
///
/// Bring-up steps carry `.plan(resource)`: the executor appends the entry (planned, fsynced)
/// **before** the first action, and marks it created after the last. Tear-down steps carry
/// `.remove(kind, name)`: the entry is marked removed after the actions succeed.
public struct NetnsStep: Hashable, Sendable {
    public enum JournalOperation: Hashable, Sendable {
        case none
        case plan(JournalResource)
        case remove(JournalEntry.Kind, name: String)
    }

    public var journal: JournalOperation
    public var actions: [NetnsAction]
    /// Adjacent steps with the same non-nil group touch disjoint resources (one host each) and
    /// may be carried out concurrently; each still journals its resource before its first action.
    public var group: String?

    public init(journal: JournalOperation, actions: [NetnsAction], group: String? = nil) {
        self.journal = journal
        self.actions = actions
        self.group = group
    }

    /// The commands of the step, in order.
    public var argv: [[String]] { actions.compactMap(\.argv) }
}
