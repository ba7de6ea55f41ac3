import HACore
import Yams

/// Turns a scenario file (DESIGN §7) into a ``Scenario``, or fails with a ``ScenarioError`` that
/// points at the offending key or value.
///
/// The whole file is validated before anything runs: unknown keys (typos), wrong types, names of
/// hosts, datastores and VMs that the cluster does not declare, fault times outside the run, and
/// invariant ids that oracle §11 does not define. Times are model seconds (scale 1).
///
/// Top-level keys: `name` (default: the file name), `description`, `profile` (`"5.0"` or `"5.1"`,
/// default 5.1), `duration` (required), `cluster` (required: `datastores`, `hosts` as `{count: N}` or a
/// list, `vms` as `{count: N, perHost:, datastore:}` or a list), `ha`, `faults` (steps `{at:, fault:
/// <Fault.kind>, …, heal: | for:}`) and `expect` (`invariants`, `outcomes`). A file that uses every
/// section is `Tests/ChaosKitTests/Fixtures/good-scenarios/b-full.yaml`.
public enum ScenarioParser {
    // MARK: - Limits

    /// At most this many hosts (the vSphere 5.x cluster maximum; FDM is not specified beyond it).
    static let maxHosts = 128
    /// At most this many VMs (the vSphere 5.x cluster maximum for HA-protected VMs).
    static let maxVMs = 3_000
    /// At most this many fault steps per scenario.
    static let maxFaultSteps = 1_000
    /// At most this long a run, in model seconds (one week).
    static let maxDuration = 604_800.0

    /// The keys of a scenario file's top level.
    static let topLevelKeys = ["name", "description", "profile", "duration", "cluster", "ha", "faults", "expect"]

    // MARK: - Parsing

    /// Parses and validates one scenario file.
    ///
    /// - Parameters:
    ///   - yaml: The file's text.
    ///   - path: The file's path, used in error locations, as ``Scenario/sourcePath``, and for the
    ///     default name (the file name without its extension).
    /// - Returns: The scenario with its fault steps sorted by time.
    /// - Throws: ``ScenarioError`` at the first problem, with its line and column.
    public static func parse(yaml: String, path: String) throws(ScenarioError) -> Scenario {
        try parseDocument(yaml: yaml, path: path).scenario
    }

    /// Parses one scenario file and also says where its name was written (for duplicate-name errors).
    static func parseDocument(yaml: String, path: String) throws(ScenarioError) -> (scenario: Scenario, nameLocation: SourceLocation) {
        let root = try compose(yaml: yaml, path: path)
        let fields = try root.fields(topLevelKeys)

        let nameNode = fields.optional("name")
        let name = try nameNode?.identifier() ?? defaultName(forPath: path)
        guard nameNode != nil || ScenarioNode.isIdentifier(name) else {
            throw ScenarioError(
                code: .invalidValue, location: SourceLocation(file: path, line: 1, column: 1),
                message: "expected a file name usable as the scenario name (letters, digits, '-', '_' and '.'), "
                    + "found \"\(name)\"; rename the file or add a \"name\" key"
            )
        }
        let description = try fields.optional("description")?.string() ?? ""
        let profile = try fields.optional("profile")?.choice(Profile.self, named: "profile") ?? .v51

        let durationNode = try fields.required("duration")
        let duration = try durationNode.seconds()
        guard duration <= maxDuration else {
            throw durationNode.error(.invalidValue, "expected \"duration\" of at most \(format(maxDuration)) s, found \(format(duration))")
        }

        let cluster = try parseCluster(fields.required("cluster"))
        var config = ClusterConfig(name: cluster.name, version: 1, hosts: cluster.catalog.hosts, vms: cluster.vms)
        var isolationPolicyDelay = Duration.seconds(30)
        if let ha = fields.optional("ha"), let delay = try applyHA(ha, to: &config, catalog: cluster.catalog) {
            isolationPolicyDelay = delay
        }
        var steps: [FaultStep] = []
        if let faults = fields.optional("faults") {
            steps = try parseFaults(faults, duration: duration, catalog: cluster.catalog)
        }
        var expectations: [Expectation] = []
        if let expect = fields.optional("expect") {
            expectations = try parseExpectations(expect, duration: duration, catalog: cluster.catalog)
        }

        let scenario = Scenario(
            name: name, description: description, sourcePath: path, profile: profile,
            cluster: config, datastores: cluster.catalog.datastores, initialPlacement: cluster.placement,
            settings: Settings(profile: profile, isolationPolicyDelay: isolationPolicyDelay),
            steps: steps, duration: duration, expectations: expectations
        )
        return (scenario, nameNode?.location ?? SourceLocation(file: path, line: 1, column: 1))
    }

    // MARK: - YAML

    /// The document's root node, or a ``ScenarioError`` at the YAML syntax error.
    static func compose(yaml: String, path: String) throws(ScenarioError) -> ScenarioNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw syntaxError(error, yaml: yaml, path: path)
        }
        guard let root else {
            throw ScenarioError(
                code: .missingKey, location: SourceLocation(file: path, line: 1, column: 1),
                message: "expected a scenario mapping with at least \"duration\" and \"cluster\", found an empty file"
            )
        }
        return ScenarioNode(node: root, file: path, label: "the scenario")
    }

    /// Maps a Yams error to a ``ScenarioError`` at the position libyaml reported.
    private static func syntaxError(_ error: any Error, yaml: String, path: String) -> ScenarioError {
        func at(_ line: Int, _ column: Int, _ message: String) -> ScenarioError {
            ScenarioError(code: .syntax, location: SourceLocation(file: path, line: line, column: column), message: message)
        }
        guard let yamlError = error as? YamlError else { return at(1, 1, "invalid YAML: \(error)") }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            if character(in: yaml, line: mark.line, column: mark.column) == "\t" {
                return at(mark.line, mark.column, "invalid YAML: found a tab character; YAML indents with spaces only")
            }
            let detail = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return at(mark.line, mark.column, "invalid YAML: \(problem)\(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            let message = "invalid YAML: key \(keys) appears more than once in the same mapping (this is its first occurrence)"
            return at(context.mark.line, context.mark.column, message)
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacterOffset: $0, in: yaml) } ?? (1, 1)
            return at(line, column, "expected UTF-8 text, found unreadable input (\(problem))")
        default:
            return at(1, 1, "invalid YAML: \(yamlError)")
        }
    }

    /// The character at a 1-based line and column (columns count Unicode scalars, as libyaml does).
    private static func character(in text: String, line: Int, column: Int) -> Unicode.Scalar? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let scalars = Array(lines[line - 1].unicodeScalars)
        guard column >= 1, column <= scalars.count else { return nil }
        return scalars[column - 1]
    }

    /// The 1-based line and column of a character offset.
    private static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for character in text.prefix(offset) {
            if character == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    // MARK: - Helpers

    /// The file name without directory and extension: `faults/host-failure.yaml` → `host-failure`.
    static func defaultName(forPath path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }

    /// Seconds for messages, exactly as written: `20`, `2.5`, `0.0001` (no rounding: a message about a
    /// bound must not show the bound itself).
    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }
}
