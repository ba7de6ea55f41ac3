import Foundation
import HACore

/// Runs every cell of an ``IsolationMatrix`` on a backend, checks each run and judges it
/// against the prediction (``MatrixCellResult``).
///
/// With an output folder, each cell's run goes to `<out>/<cell-name>/` exactly as `chaos run`
/// writes a scenario (``RunWriter``: `result.json`, `events.jsonl`, `faults.jsonl`,
/// `history.json`; plus `scenario.yaml`, replayable with `chaos run`).
public struct MatrixRunner: Sendable {
    /// The cells' scenarios and predictions.
    public var matrix: IsolationMatrix
    /// Where the cells run.
    public var backend: any ClusterBackend
    /// Multiplies every protocol duration and scenario time.
    public var timeScale: Double
    /// The simulator seed.
    public var seed: UInt64
    /// Rules broken on purpose in every agent (mutation testing: the matrix must then differ).
    public var bugs: Set<FDM.Bug>
    /// Where the cells' run folders go (`nil`: nothing is written).
    public var outDirectory: String?
    /// How many cells run at once (at least 1).
    public var parallel: Int
    /// Called with each progress line of a cell's run (phase, faults, master changes, restarts).
    public var progress: (@Sendable (MatrixCell, String) -> Void)?

    /// A runner; see the properties.
    public init(
        matrix: IsolationMatrix, backend: any ClusterBackend, timeScale: Double = 1, seed: UInt64 = 1,
        bugs: Set<FDM.Bug> = [], outDirectory: String? = nil, parallel: Int = 1,
        progress: (@Sendable (MatrixCell, String) -> Void)? = nil
    ) {
        self.matrix = matrix
        self.backend = backend
        self.timeScale = timeScale
        self.seed = seed
        self.bugs = bugs
        self.outDirectory = outDirectory
        self.parallel = parallel
        self.progress = progress
    }

    /// Runs `cells` (default: all), at most ``parallel`` at once.
    ///
    /// - Parameters:
    ///   - cells: The cells to run.
    ///   - onStart: Called when a cell's run starts.
    ///   - onFinish: Called with each judged cell as soon as it is done.
    /// - Returns: The judged cells, in the order of `cells`.
    public func run(
        _ cells: [MatrixCell] = MatrixCell.all,
        onStart: (@Sendable (MatrixCell) -> Void)? = nil,
        onFinish: (@Sendable (MatrixCellResult) -> Void)? = nil
    ) async -> [MatrixCellResult] {
        var results: [Int: MatrixCellResult] = [:]
        await withTaskGroup(of: (Int, MatrixCellResult).self) { group in
            var next = 0
            func launch() {
                let index = next
                let cell = cells[index]
                next += 1
                group.addTask {
                    onStart?(cell)
                    return (index, await runCell(cell))
                }
            }
            while next < min(max(parallel, 1), cells.count) { launch() }
            while let (index, result) = await group.next() {
                results[index] = result
                onFinish?(result)
                if next < cells.count { launch() }
            }
        }
        return results.keys.sorted().compactMap { results[$0] }
    }

    /// Runs one cell, checks it, writes its folder (when ``outDirectory`` is set) and judges it.
    /// Never throws: a run or write that fails makes the cell inconclusive with the error.
    public func runCell(_ cell: MatrixCell) async -> MatrixCellResult {
        let scenario = matrix.scenario(for: cell)
        let directory = outDirectory.map { URL(fileURLWithPath: "\($0)/\(cell.name)").standardizedFileURL.path }
        if let directory {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                return .failed(cell, matrix: matrix, error: "cannot create \(directory): \(error)")
            }
        }
        let printer: (@Sendable (String) -> Void)? = progress.map { progress in { @Sendable line in progress(cell, line) } }
        let options = RunOptions(timeScale: timeScale, seed: seed, bugs: bugs, workDirectory: directory, progress: printer)
        let history: History
        do {
            history = try await backend.run(scenario, options: options)
        } catch {
            return .failed(cell, matrix: matrix, error: "\(error)")
        }
        let checks = Checker.check(history, expectations: scenario.expectations)
        if let directory {
            do {
                try RunWriter.write(history: history, checks: checks, to: directory)
                try ScenarioWriter.yaml(scenario).write(toFile: "\(directory)/scenario.yaml", atomically: true, encoding: .utf8)
            } catch {
                return .failed(cell, matrix: matrix, error: "\(error)")
            }
        }
        return MatrixCellResult.judge(cell, matrix: matrix, history: history, checks: checks)
    }
}
