import ArgumentParser
import ChaosKit
import Foundation

extension Chaos {
    struct Clean: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every trace of dead runs: namespaces, links, chains, mounts, cgroups, processes.",
            discussion: """
            Undoes each dead run's journal (/var/lib/hachaos/journal) in reverse order, then sweeps \
            anything named hac-<run id>. Live runs (their owner process still runs) are left alone.

            Examples:
              chaos clean
              chaos clean --run a3f09c
            """
        )
        @Option(name: .long, help: "Only this run id.") var run: String?
        @Option(name: .long, help: "Journal folder.") var journalDir: String = RunJournal.defaultDirectory

        func run() async throws {
            var id: RunID?
            if let run {
                guard let parsed = RunID(run) else { throw ValidationError("not a run id: \(run)") }
                id = parsed
            }
            let report = await Reaper.clean(runID: id, journalDir: journalDir, runner: ProcessCommandRunner())
            for item in report.removed { print("removed \(item)") }
            for failure in report.failures { print("FAILED \(failure)") }
            print(report.isClean ? "clean: nothing of a dead run is left" : "not clean: \(report.failures.count) failure(s)")
            throw ExitCode(report.isClean ? 0 : 2)
        }
    }
}
