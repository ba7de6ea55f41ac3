import Foundation

/// A goal a figure is judged against.
struct Goal: Codable, Sendable {
    enum Op: String, Codable, Sendable { case atMost = "<=", atLeast = ">=", absAtMost = "|x|<=" }
    var op: Op
    var value: Double

    static func atMost(_ v: Double) -> Goal { Goal(op: .atMost, value: v) }
    static func atLeast(_ v: Double) -> Goal { Goal(op: .atLeast, value: v) }
    static func absAtMost(_ v: Double) -> Goal { Goal(op: .absAtMost, value: v) }

    func met(_ x: Double) -> Bool {
        switch op {
        case .atMost: x <= value
        case .atLeast: x >= value
        case .absAtMost: abs(x) <= value
        }
    }

    func text(unit: String) -> String {
        switch op {
        case .atMost: "≤ \(BenchRow.format(value)) \(unit)"
        case .atLeast: "≥ \(BenchRow.format(value)) \(unit)"
        case .absAtMost: "|·| ≤ \(BenchRow.format(value)) \(unit)"
        }
    }
}

/// One line of the table (and of bench.json): a figure with its samples.
struct BenchRow: Codable, Sendable {
    var section: String
    var what: String
    var unit: String
    var samples: [Double]
    var goal: Goal?
    /// Why there is no figure, or what it means.
    var note: String?

    var median: Double? {
        guard !samples.isEmpty else { return nil }
        let s = samples.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    var min: Double? { samples.min() }
    var max: Double? { samples.max() }
    /// `nil` when there is no goal or no figure.
    var met: Bool? {
        guard let goal, let median else { return nil }
        return goal.met(median)
    }

    static func format(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1000 { return String(format: "%.0f", v) }
        if a >= 100 { return String(format: "%.1f", v) }
        if a >= 10 { return String(format: "%.2f", v) }
        if a >= 0.01 { return String(format: "%.3f", v) }
        return String(format: "%.4f", v)
    }

    enum CodingKeys: String, CodingKey { case section, what, unit, samples, goal, note, median, min, max, reps, met, goalText }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(section, forKey: .section)
        try c.encode(what, forKey: .what)
        try c.encode(unit, forKey: .unit)
        try c.encode(samples, forKey: .samples)
        try c.encodeIfPresent(goal, forKey: .goal)
        try c.encodeIfPresent(goal?.text(unit: unit), forKey: .goalText)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encodeIfPresent(median, forKey: .median)
        try c.encodeIfPresent(min, forKey: .min)
        try c.encodeIfPresent(max, forKey: .max)
        try c.encode(samples.count, forKey: .reps)
        try c.encodeIfPresent(met, forKey: .met)
    }

    init(section: String, what: String, unit: String, samples: [Double], goal: Goal? = nil, note: String? = nil) {
        self.section = section
        self.what = what
        self.unit = unit
        self.samples = samples
        self.goal = goal
        self.note = note
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        section = try c.decode(String.self, forKey: .section)
        what = try c.decode(String.self, forKey: .what)
        unit = try c.decode(String.self, forKey: .unit)
        samples = try c.decode([Double].self, forKey: .samples)
        goal = try c.decodeIfPresent(Goal.self, forKey: .goal)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }
}

/// Machine state: cores, load, commit.
struct Environment: Codable, Sendable {
    var nproc: Int
    var loadStart: [Double]
    var loadEnd: [Double]
    var commit: String
    var startedAt: String
    var wallSeconds: Double
    var options: String
    /// What was left of this bench's runs afterwards (must be empty), and hac-* resources of
    /// other users seen at the end (informational: other runs may be alive).
    var leftovers: [String]
    var othersSeen: [String]

    static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }
}

/// The whole result: written as bench.json, printed as a table.
final class BenchReport {
    var environment: Environment
    var rows: [BenchRow] = []

    init(environment: Environment) { self.environment = environment }

    func add(_ row: BenchRow) {
        rows.append(row)
        let m = row.median.map { BenchRow.format($0) } ?? "—"
        print("  · \(row.section): \(row.what) = \(m) \(row.unit) (\(row.samples.count) rep(s))\(row.note.map { " — \($0)" } ?? "")")
        fflush(nil)
    }

    func add(section: String, what: String, unit: String, samples: [Double], goal: Goal? = nil, note: String? = nil) {
        add(BenchRow(section: section, what: what, unit: unit, samples: samples, goal: goal, note: note))
    }

    func printTable() {
        let header = ["section", "what", "median", "min–max", "reps", "goal", "met"]
        var lines: [[String]] = []
        for row in rows {
            let median = row.median.map { "\(BenchRow.format($0)) \(row.unit)" } ?? "not measured"
            let range = row.min.flatMap { lo in row.max.map { hi in "\(BenchRow.format(lo))–\(BenchRow.format(hi))" } } ?? "—"
            let goal = row.goal?.text(unit: row.unit) ?? "—"
            let met = row.met.map { $0 ? "met" : "MISSED" } ?? (row.goal != nil ? "n/a" : "")
            lines.append([row.section, row.what, median, range, "\(row.samples.count)", goal, met])
        }
        let widths = header.indices.map { i in ([header[i]] + lines.map { $0[i] }).map(\.count).max() ?? 0 }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        let e = environment
        print("")
        print("HAChaos bench — commit \(e.commit), \(e.startedAt), nproc \(e.nproc), wall \(Int(e.wallSeconds)) s, options: \(e.options)")
        print("load average (1/5/15 min): start \(e.loadStart.map { String(format: "%.2f", $0) }.joined(separator: " ")), end \(e.loadEnd.map { String(format: "%.2f", $0) }.joined(separator: " "))")
        print(render(header))
        print(render(widths.map { String(repeating: "-", count: $0) }))
        for line in lines { print(render(line)) }
        let notes = rows.filter { $0.note != nil }
        if !notes.isEmpty {
            print("")
            print("notes:")
            for row in notes { print("  \(row.section) / \(row.what): \(row.note!)") }
        }
        print("")
        print(e.leftovers.isEmpty ? "cleanup: nothing of this bench's runs is left (netns, links, mounts, cgroups, journals)"
                                  : "cleanup: LEFT OVER: \(e.leftovers.joined(separator: ", "))")
        if !e.othersSeen.isEmpty { print("(hac-* resources of other runs seen at the end: \(e.othersSeen.count))") }
        let goals = rows.compactMap(\.met)
        print("goals: \(goals.filter { $0 }.count) met, \(goals.filter { !$0 }.count) missed")
    }

    func write(to path: String) throws {
        struct Document: Encodable {
            var environment: Environment
            var rows: [BenchRow]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Document(environment: environment, rows: rows)).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Small timing helpers.
enum Stopwatch {
    static let clock = ContinuousClock()
    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    static func time<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let start = clock.now
        let value = try await body()
        return (value, seconds(start.duration(to: clock.now)))
    }
}
