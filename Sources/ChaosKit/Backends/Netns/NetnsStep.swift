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

    public init(journal: JournalOperation, actions: [NetnsAction]) {
        self.journal = journal
        self.actions = actions
    }

    /// The commands of the step, in order.
    public var argv: [[String]] { actions.compactMap(\.argv) }
}
