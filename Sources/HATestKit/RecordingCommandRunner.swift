import ChaosKit
import Foundation
import Synchronization

/// A ``CommandRunner`` that records every argv and answers from a script (golden tests,
/// journal-ordering tests): nothing is executed.
public final class RecordingCommandRunner: CommandRunner {
    /// One recorded call.
    public struct Call: Hashable, Sendable {
        public var argv: [String]
        public var input: Data?
        public var timeout: Duration
    }

    /// Decides the answer to the `index`-th call (0-based): a result, or an error to throw.
    public typealias Script = @Sendable (_ argv: [String], _ index: Int) -> Result<CommandResult, CommandError>

    private let script: Script
    private let recorded = Mutex<[Call]>([])

    /// - Parameter script: default: every command succeeds with empty output.
    public init(script: @escaping Script = { _, _ in .success(CommandResult()) }) {
        self.script = script
    }

    /// Every command succeeds, except call number `failingCall` (1-based), which exits with
    /// status 1 and `stderr`.
    public static func failing(call failingCall: Int, stderr: String = "RTNETLINK answers: Operation not permitted") -> RecordingCommandRunner {
        RecordingCommandRunner { _, index in
            index + 1 == failingCall ? .success(CommandResult(status: 1, stderr: stderr)) : .success(CommandResult())
        }
    }

    /// Answers from `outputs`: the first key that prefixes argv gives stdout (status 0).
    public static func answering(_ outputs: [([String], String)]) -> RecordingCommandRunner {
        RecordingCommandRunner { argv, _ in
            let stdout = outputs.first { argv.starts(with: $0.0) }?.1 ?? ""
            return .success(CommandResult(stdout: stdout))
        }
    }

    public func run(_ argv: [String], timeout: Duration, input: Data?) async throws(CommandError) -> CommandResult {
        let index = recorded.withLock { calls in
            calls.append(Call(argv: argv, input: input, timeout: timeout))
            return calls.count - 1
        }
        switch script(argv, index) {
        case .success(let result): return result
        case .failure(let error): throw error
        }
    }

    /// Every call so far, in order.
    public var calls: [Call] { recorded.withLock { $0 } }
    /// Every argv so far, in order.
    public var argvs: [[String]] { recorded.withLock { $0.map(\.argv) } }
}
