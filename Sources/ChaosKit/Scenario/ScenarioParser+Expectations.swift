import HACore

// MARK: - expect: invariants and outcomes

extension ScenarioParser {
    /// The invariant families of oracle §11 and how many each has (`INV-E1` … `INV-E6`, …).
    static let invariantFamilies: [(family: String, count: Int)] = [
        ("E", 6), ("H", 4), ("FS", 4), ("FM", 1), ("I", 11), ("P", 2), ("SB", 3), ("R", 6), ("AC", 2), ("PDL", 1), ("APD", 1),
        ("VM", 4),
    ]

    /// Every invariant id oracle §11 defines.
    static let knownInvariants: Set<String> = Set(
        invariantFamilies.flatMap { family, count in (1...count).map { "INV-\(family)\($0)" } }
    )

    /// The outcome kinds an `outcomes` item may name.
    static let outcomeKinds = ["vmRunning", "vmNeverRestarted", "vmDown", "splitBrainResolved", "noHAPowerOff", "hostState", "master", "messagesDropped"]

    /// Parses `expect: {invariants: [...], outcomes: [...]}`: invariants first, then outcomes, in file order.
    static func parseExpectations(
        _ node: ScenarioNode, duration: Double, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> [Expectation] {
        let fields = try node.fields(["invariants", "outcomes"], in: "\"expect\"")
        var expectations: [Expectation] = []
        if let invariants = fields.optional("invariants") {
            var seen: Set<String> = []
            for item in try invariants.items() {
                let id = try invariantID(item)
                guard seen.insert(id).inserted else { throw item.error(.duplicate, "invariant \"\(id)\" is listed twice") }
                expectations.append(.invariant(id))
            }
        }
        if let outcomes = fields.optional("outcomes") {
            for item in try outcomes.items() {
                expectations.append(try parseOutcome(item, duration: duration, catalog: catalog))
            }
        }
        return expectations
    }

    /// An id of the form `INV-<LETTERS><DIGITS>` that oracle §11 defines.
    private static func invariantID(_ node: ScenarioNode) throws(ScenarioError) -> String {
        let id = try node.string()
        let body = id.hasPrefix("INV-") ? id.dropFirst(4) : ""
        let letters = body.prefix { ("A"..."Z").contains($0) }
        let digits = body.dropFirst(letters.count)
        guard !letters.isEmpty, !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw node.error(.invalidValue, "expected an invariant id like INV-FS1 (INV-, capital letters, digits), found \(node.found)")
        }
        guard knownInvariants.contains(id) else {
            let families = invariantFamilies.map { family, count in
                count == 1 ? "INV-\(family)1" : "INV-\(family)1…\(family)\(count)"
            }
            throw node.error(.invalidValue, "unknown invariant \"\(id)\"; oracle §11 defines \(families.joined(separator: ", "))")
        }
        return id
    }

    /// One `outcomes` item: a mapping with exactly one outcome kind as its key.
    private static func parseOutcome(
        _ node: ScenarioNode, duration: Double, catalog: ScenarioCatalog
    ) throws(ScenarioError) -> Expectation {
        let keys = try node.anyFields().keys
        guard keys.count == 1 else {
            throw node.error(
                .invalidValue,
                "expected exactly one outcome in each item of \"outcomes\", found \(keys.count) (\(keys.joined(separator: ", ")))"
            )
        }
        let fields = try node.fields(outcomeKinds, in: "an outcome")
        let kind = keys[0]
        let value = try fields.required(kind)
        func time(_ fields: ScenarioNode.Fields, _ key: String) throws(ScenarioError) -> Double {
            try expectationTime(fields.required(key), duration: duration)
        }

        switch kind {
        case "vmRunning":
            let fields = try value.fields(["vm", "on", "notOn", "by"], in: "\"vmRunning\"")
            let on = try fields.optional("on").map { node throws(ScenarioError) in try catalog.host(node) }
            let notOnNode = fields.optional("notOn")
            let notOn = try notOnNode.map { node throws(ScenarioError) in try catalog.host(node) }
            if let on, on == notOn, let notOnNode {
                throw notOnNode.error(.invalidValue, "expected \"notOn\" to differ from \"on\", found \(on) in both")
            }
            return .vmRunning(vm: try catalog.vm(fields.required("vm")), on: on, notOn: notOn, by: try time(fields, "by"))
        case "vmNeverRestarted":
            return .vmNeverRestarted(try catalog.vm(value))
        case "vmDown":
            let fields = try value.fields(["vm", "at"], in: "\"vmDown\"")
            return .vmDown(vm: try catalog.vm(fields.required("vm")), at: try time(fields, "at"))
        case "splitBrainResolved":
            return .splitBrainResolved(try catalog.vm(value))
        case "messagesDropped":
            let reason = try value.string()
            let known = ["oversized", "malformed", "badVersion", "wrongCluster", "unknownHost", "badMAC", "replayed"]
            guard known.contains(reason) else {
                throw value.error(.invalidValue, "expected a drop reason (\(known.joined(separator: ", "))), found \(reason.debugDescription)")
            }
            return .messagesDropped(reason: reason)
        case "noHAPowerOff":
            guard try value.bool() else {
                throw value.error(.invalidValue, "expected \"noHAPowerOff: true\", found false (leave the outcome out instead)")
            }
            return .noHAPowerOff
        case "hostState":
            let fields = try value.fields(["host", "state", "from", "to", "observer"], in: "\"hostState\"")
            let from = try time(fields, "from")
            let toNode = try fields.required("to")
            let to = try expectationTime(toNode, duration: duration)
            guard to >= from else {
                throw toNode.error(.invalidValue, "expected \"to\" at or after \"from\" (\(format(from))), found \(format(to))")
            }
            return .hostState(
                observer: try fields.optional("observer").map { node throws(ScenarioError) in try catalog.host(node) },
                host: try catalog.host(fields.required("host")),
                state: try fields.required("state").choice(HostState.self, named: "host state"),
                from: from, to: to
            )
        case "master":
            let fields = try value.fields(["host", "at"], in: "\"master\"")
            return .master(try catalog.host(fields.required("host")), at: try time(fields, "at"))
        default:
            preconditionFailure("outcome kind \(kind) passed the key check but has no case in parseOutcome")
        }
    }

    /// A model time within the run: 0 … duration.
    private static func expectationTime(_ node: ScenarioNode, duration: Double) throws(ScenarioError) -> Double {
        let value = try node.number()
        guard value >= 0, value <= duration else {
            throw node.error(.invalidValue, "expected \(node.label) from 0 to the duration \(format(duration)), found \(format(value))")
        }
        return value
    }
}
