/// How one fault is injected and healed on a netns cluster.
public struct FaultPlan: Hashable, Sendable {
    /// The timeline step the fault belongs to (its iptables rules carry `hac-<run>-s<step>`).
    public var step: Int
    /// `hac-<run>-s<step>`.
    public var tag: String
    /// What the journal records before injection (`nil`: nothing stays behind, e.g. a kill).
    /// Its undo is the heal's commands, so that the reaper can heal after a crash.
    public var resource: JournalResource?
    public var inject: [NetnsAction]
    public var heal: [NetnsAction]

    public init(step: Int, tag: String, resource: JournalResource?, inject: [NetnsAction], heal: [NetnsAction]) {
        self.step = step
        self.tag = tag
        self.resource = resource
        self.inject = inject
        self.heal = heal
    }

    /// The injection as single commands (a restore's rules one `iptables` command each:
    /// ``NetnsAction/equivalentArgv``).
    public var injectArgv: [[String]] { inject.flatMap(\.equivalentArgv) }
    /// The heal as single commands (what the journal's undo runs).
    public var healArgv: [[String]] { heal.flatMap(\.equivalentArgv) }
    /// How many commands the injection runs (a restore is one).
    public var injectCommandCount: Int { inject.filter { $0.argv != nil || $0.restoreCommand != nil }.count }
}
