import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// SIGINT/SIGTERM handling for commands that run clusters (issue 7: the harness survives
/// itself). The first signal cancels the work: backends stop their timelines, heal every fault
/// and tear the cluster down (journal entries marked removed), and the command exits 2 with
/// whatever results it has. A second signal exits at once (130); the journal then lets
/// `chaos clean` — or the next `chaos run` — remove what is left.
enum Interruption {
    static let signalled = Atomic<Bool>(false)

    static var wasInterrupted: Bool { signalled.load(ordering: .relaxed) }

    static func cancellingOnSignals<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if signalled.exchange(true, ordering: .relaxed) {
                    FileHandle.standardError.write(Data("chaos: second signal, exiting now; `chaos clean` removes what is left\n".utf8))
                    exit(130)
                }
                FileHandle.standardError.write(Data("chaos: interrupted: healing faults and tearing the cluster down (signal again to exit at once)\n".utf8))
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }
        defer {
            for source in sources { source.cancel() }
        }
        return try await task.value
    }

    /// Runs a command body that ends by throwing its `ExitCode`: on SIGINT/SIGTERM the run in
    /// progress heals its faults and tears its cluster down, the body's report covers what
    /// ended, and the command exits 2 whatever status the body chose.
    static func runReportingInterruption(_ body: @escaping @Sendable () async throws -> Void) async throws {
        do {
            try await cancellingOnSignals(body)
        } catch is ExitCode where wasInterrupted {
            // Replaced by the interruption's status below.
        }
        if wasInterrupted {
            FileHandle.standardError.write(Data("chaos: interrupted; clusters torn down\n".utf8))
            throw ExitCode(Exit.unknown)
        }
    }
}
