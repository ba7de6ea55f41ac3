#if canImport(Glibc)
import Glibc
#endif

/// `crash-writer <datastore-root> [rounds]`: the writer the crash-consistency test kills with
/// SIGKILL (see ``CrashWriter``; `Tests/CrashConsistencyTests`, `Scripts/crash-consistency`).
///
/// `<datastore-root>/ds-1` MUST exist. Exit codes: 0 after `rounds` rounds (default 100000),
/// 3 when recovery or a write failed, 64 on bad arguments.
@main
enum CrashWriterCommand {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 || arguments.count == 3, let rounds = arguments.count == 3 ? Int(arguments[2]) : 100_000,
            rounds > 0
        else {
            let usage = Array("usage: crash-writer <datastore-root> [rounds]\n".utf8)
            _ = usage.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            exit(64)
        }
        exit(CrashWriter(root: arguments[1], maxRounds: rounds).run())
    }
}
