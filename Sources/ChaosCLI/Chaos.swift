import ArgumentParser
import ChaosKit
import Foundation

/// `chaos`: builds clusters from scenario files, injects faults, checks outcomes against the
/// documented HA behaviour and writes reports. Exit codes follow Jepsen: 0 valid, 1 a check
/// failed, 2 inconclusive or infrastructure failure, 254 bad arguments or scenario, 255 crash.
@main
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Chaos-test a vSphere-HA-style cluster and check it against the documented behaviour.",
        discussion: """
        Exit codes: 0 every check passed, 1 a check failed, 2 inconclusive or infrastructure \
        failure, 254 bad arguments or scenario, 255 crash.
        """,
        subcommands: [Run.self, Simulate.self, Validate.self, List.self, Report.self, Clean.self, Matrix.self, Nightly.self, Mutants.self, Compose.self]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as ScenarioError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Foundation.exit(254)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            // Jepsen's convention: bad arguments are 254.
            Foundation.exit(code == .validationFailure ? 254 : (code.rawValue == 1 ? 255 : code.rawValue))
        }
    }
}

/// Jepsen exit codes.
enum Exit {
    static let valid: Int32 = 0
    static let invalid: Int32 = 1
    static let unknown: Int32 = 2
    static let badInput: Int32 = 254
    static let crash: Int32 = 255
}
