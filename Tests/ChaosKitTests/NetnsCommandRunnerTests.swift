import ChaosKit
import Foundation
import Testing

@Suite struct NetnsCommandRunnerTests {
    let runner = ProcessCommandRunner()

    @Test func run_capturesOutputAndStatus_withoutAShell() async throws {
        let result = try await runner.run(["echo", "a b", "$HOME", ";", "true"], timeout: .seconds(5), input: nil)
        #expect(result == CommandResult(status: 0, stdout: "a b $HOME ; true\n", stderr: ""))
        let failed = try await runner.run(["ls", "/definitely/not/here"], timeout: .seconds(5), input: nil)
        #expect(failed.status == 2 && failed.stderr.contains("No such file or directory"))
    }

    @Test func runChecked_whenTheStatusIsNonZero_throwsNonZeroExit() async {
        await #expect {
            try await runner.runChecked(["false"])
        } throws: { error in
            (error as? CommandError)?.code == .nonZeroExit && (error as? CommandError)?.status == 1
        }
    }

    @Test func run_whenTheProgramIsMissing_throwsLaunchFailed() async {
        await #expect {
            try await runner.run(["hachaos-no-such-program"], timeout: .seconds(5), input: nil)
        } throws: { error in
            (error as? CommandError)?.code == .launchFailed
        }
    }

    @Test func run_whenTheTimeoutExpires_killsTheChildByPIDAndThrowsTimedOut() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            try await runner.run(["sleep", "30"], timeout: .milliseconds(200), input: nil)
        } throws: { error in
            (error as? CommandError)?.code == .timedOut
        }
        // The outcome: the runner killed the child instead of waiting for its 30 s to pass
        // (how fast is for Scripts/bench, not for a unit test on a loaded machine).
        #expect(clock.now - start < .seconds(30))
    }

    @Test func run_passesInputAndCapsOutputAtOneMebibyte() async throws {
        let echoed = try await runner.run(["cat"], timeout: .seconds(5), input: Data("hello\n".utf8))
        #expect(echoed.stdout == "hello\n")
        let big = try await runner.run(["head", "-c", "3000000", "/dev/zero"], timeout: .seconds(10), input: nil)
        #expect(big.status == 0 && big.stdout.utf8.count == CommandResult.outputLimit)
    }

    @Test func nsenterNetOnly_isRecognised_andEveryOtherFormIsLeftToNsenter() {
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--net=/run/netns/a", "iptables-restore", "-w", "5"])! == ("/run/netns/a", ["iptables-restore", "-w", "5"]))
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--net=/run/netns/a", "--", "ip", "addr"])! == ("/run/netns/a", ["ip", "addr"]))
        // Other namespaces, options, or no program: nsenter itself runs.
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--net=/run/netns/a", "--mount=/m", "--", "true"]) == nil)
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--mount=/m", "true"]) == nil)
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--net=", "true"]) == nil)
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--net=/run/netns/a"]) == nil)
        #expect(ProcessCommandRunner.networkNamespaceCommand(["nsenter", "--net=/run/netns/a", "--"]) == nil)
        #expect(ProcessCommandRunner.networkNamespaceCommand(["ip", "--net=/x", "true"]) == nil)
    }

    @Test func nsenterNet_whenTheNamespaceIsGone_failsAsNsenterDoes() async throws {
        let result = try await runner.run(["nsenter", "--net=/run/netns/hachaos-no-such-namespace", "true"], timeout: .seconds(5), input: nil)
        #expect(result == CommandResult(status: 1, stderr: "nsenter: cannot open /run/netns/hachaos-no-such-namespace: No such file or directory\n"))
        // The tear-down and the reaper treat it as already gone, as they did nsenter's message.
        await #expect {
            try await runner.runChecked(["nsenter", "--net=/run/netns/hachaos-no-such-namespace", "true"])
        } throws: { error in
            (error as? CommandError)?.isAlreadyGone == true
        }
    }

    @Test(.enabled(if: getuid() == 0, "setns needs root"))
    func nsenterNet_runsTheProgramInThatNamespace_andLeavesOursAlone() async throws {
        // Our own namespace's file: the child must see the same namespace as we do, and the
        // harness's threads must stay where they were after many such spawns.
        let ours = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        for _ in 1...20 {
            let result = try await runner.runChecked(["nsenter", "--net=/proc/\(getpid())/ns/net", "readlink", "/proc/self/ns/net"])
            #expect(result.stdout == ours + "\n")
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net") == ours)
    }

    @Test func run_setsTheCLocaleSoErrorsCanBeMatched() async throws {
        let result = try await runner.run(["printenv", "LC_ALL"], timeout: .seconds(5), input: nil)
        #expect(result.stdout == "C\n")
    }
}
