import Yams

/// One YAML node of a scenario file, with the words that name it in messages.
///
/// Every typed read fails with a ``ScenarioError`` at the node's own position (its Yams `mark`),
/// so a bad value is reported where it was written, not where the parser happened to notice it.
struct ScenarioNode {
    /// The YAML node.
    let node: Node
    /// The file the node came from.
    let file: String
    /// How messages name the node: `"duration"`, `an item of "datastores"`.
    let label: String

    /// The node's YAML shape, so callers can choose between alternative forms (a count or a list).
    enum Shape {
        case scalar, mapping, list, alias
    }

    /// The node's YAML shape.
    var shape: Shape {
        switch node {
        case .scalar: .scalar
        case .mapping: .mapping
        case .sequence: .list
        case .alias: .alias
        }
    }

    // MARK: - Position and messages

    /// The node's position (1-based).
    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// An error at this node.
    func error(_ code: ScenarioError.Code, _ message: String) -> ScenarioError {
        ScenarioError(code: code, location: location, message: message)
    }

    /// A YAML null (`~`, `null`, or nothing at all after the colon).
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The node's text when it is a non-null scalar.
    var text: String? {
        guard case .scalar(let scalar) = node, !isNull else { return nil }
        return scalar.string
    }

    /// What the node is, for "found …" in messages.
    var found: String {
        switch node {
        case .scalar(let scalar):
            if isNull { return "nothing" }
            return scalar.style == .plain || scalar.style == .any ? "\"\(scalar.string)\"" : "the quoted string \"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The standard wrong-type error: "expected `expected` for `label`, found …".
    func wrongType(_ expected: String) -> ScenarioError {
        error(.wrongType, "expected \(expected) for \(label), found \(found)")
    }

    /// A child node named `label` in messages.
    func child(_ node: Node, label: String) -> ScenarioNode {
        ScenarioNode(node: node, file: file, label: label)
    }

    // MARK: - Scalars

    /// Any non-null scalar, as text.
    func string() throws(ScenarioError) -> String {
        guard let text else { throw wrongType("a string") }
        return text
    }

    /// An id of a host, datastore, VM or cluster: letters, digits, `-`, `_` and `.` only, because ids
    /// name network namespaces, containers and result directories.
    func identifier() throws(ScenarioError) -> String {
        guard let text, !text.isEmpty else { throw wrongType("an id") }
        guard Self.isIdentifier(text) else {
            throw error(.invalidValue, "invalid id \"\(text)\" for \(label); ids use only letters, digits, '-', '_' and '.'")
        }
        return text
    }

    /// Whether `text` is a non-empty run of letters, digits, `-`, `_` and `.`.
    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
        }
    }

    /// A plain (unquoted) scalar: numbers and booleans must not be quoted.
    private var plainText: String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any, !isNull else { return nil }
        return scalar.string
    }

    /// A finite number, integer or floating point.
    func number() throws(ScenarioError) -> Double {
        guard let text = plainText, let value = Double(String(text.filter { $0 != "_" })), value.isFinite else {
            throw wrongType("a number")
        }
        return value
    }

    /// A whole number.
    func integer() throws(ScenarioError) -> Int {
        guard let text = plainText, let value = Int(String(text.filter { $0 != "_" })) else {
            throw wrongType("a whole number")
        }
        return value
    }

    /// A number of seconds: at least 0, or more than 0 when `positive`.
    func seconds(positive: Bool = true) throws(ScenarioError) -> Double {
        let value = try number()
        guard positive ? value > 0 : value >= 0 else {
            let expected = positive ? "a positive number of seconds" : "a non-negative number of seconds"
            throw error(.invalidValue, "expected \(expected) for \(label), found \(found)")
        }
        return value
    }

    /// A whole number in `range`.
    func integer(in range: ClosedRange<Int>) throws(ScenarioError) -> Int {
        let value = try integer()
        guard range.contains(value) else {
            throw error(.invalidValue, "expected \(label) between \(range.lowerBound) and \(range.upperBound), found \(value)")
        }
        return value
    }

    /// `true` or `false`.
    func bool() throws(ScenarioError) -> Bool {
        switch plainText {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw wrongType("true or false")
        }
    }

    /// One of an enumeration's raw values.
    ///
    /// - Parameters:
    ///   - type: The enumeration.
    ///   - what: How messages name the value (`"restart priority"`).
    ///   - allowed: The accepted cases (default: all of them).
    func choice<T: RawRepresentable & CaseIterable>(
        _ type: T.Type, named what: String, allowed: [T] = Array(T.allCases)
    ) throws(ScenarioError) -> T where T.RawValue == String {
        let names = allowed.map(\.rawValue)
        guard let text else { throw wrongType("a \(what) (\(names.joined(separator: ", ")))") }
        guard let value = T(rawValue: text), names.contains(text) else { throw unknownName(text, what: what, expected: names) }
        return value
    }

    /// "unknown `what` "x" (did you mean …?); expected one of: …".
    func unknownName(_ text: String, what: String, expected: [String]) -> ScenarioError {
        let hint = text.closestMatch(in: expected).map { " (did you mean \"\($0)\"?)" } ?? ""
        return error(.invalidValue, "unknown \(what) \"\(text)\"\(hint); expected one of: \(expected.joined(separator: ", "))")
    }

    // MARK: - Collections

    /// The items of a list, each named `an item of <label>`.
    func items() throws(ScenarioError) -> [ScenarioNode] {
        guard case .sequence(let sequence) = node else { throw wrongType("a list") }
        return sequence.map { child($0, label: "an item of \(label)") }
    }

    /// The entries of a mapping, after checking that every key is one of `allowed`.
    ///
    /// - Parameters:
    ///   - allowed: The keys the format defines here; any other key is reported at its position.
    ///   - owner: How messages name the mapping (default: ``label``).
    func fields(_ allowed: [String], in owner: String? = nil) throws(ScenarioError) -> Fields {
        try readFields(allowed: allowed, owner: owner ?? label)
    }

    /// The entries of a mapping, whatever their keys (to read a key that decides which others are allowed).
    func anyFields() throws(ScenarioError) -> Fields {
        try readFields(allowed: nil, owner: label)
    }

    private func readFields(allowed: [String]?, owner: String) throws(ScenarioError) -> Fields {
        guard case .mapping(let mapping) = node else { throw wrongType("a mapping") }
        var entries: [(key: ScenarioNode, value: ScenarioNode)] = []
        for (key, value) in mapping {
            let keyNode = child(key, label: "a key of \(owner)")
            guard let name = keyNode.text else { throw keyNode.wrongType("a key name") }
            if let allowed, !allowed.contains(name) {
                let hint = name.closestMatch(in: allowed).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw keyNode.error(
                    .unknownKey, "unknown key \"\(name)\" in \(owner)\(hint); expected one of: \(allowed.joined(separator: ", "))"
                )
            }
            entries.append((keyNode, child(value, label: "\"\(name)\"")))
        }
        return Fields(owner: self, ownerName: owner, entries: entries)
    }

    /// The checked entries of a mapping node.
    struct Fields {
        /// The mapping itself (missing keys are reported at its position).
        let owner: ScenarioNode
        /// How messages name the mapping.
        let ownerName: String
        /// Key and value nodes in file order.
        let entries: [(key: ScenarioNode, value: ScenarioNode)]

        /// The key names present, in file order.
        var keys: [String] { entries.compactMap(\.key.text) }

        /// The key node for `name`, if present (for errors about the key itself).
        func key(_ name: String) -> ScenarioNode? { entries.first { $0.key.text == name }?.key }

        /// The value for `name`; `nil` when the key is absent or its value is null.
        func optional(_ name: String) -> ScenarioNode? {
            guard let value = entries.first(where: { $0.key.text == name })?.value, !value.isNull else { return nil }
            return value
        }

        /// The value for `name`, which MUST be present and not null.
        func required(_ name: String) throws(ScenarioError) -> ScenarioNode {
            guard let entry = entries.first(where: { $0.key.text == name }) else {
                throw owner.error(.missingKey, "missing required key \"\(name)\" in \(ownerName)")
            }
            guard !entry.value.isNull else {
                throw entry.key.error(.missingKey, "expected a value for \"\(name)\", found nothing")
            }
            return entry.value
        }
    }
}
