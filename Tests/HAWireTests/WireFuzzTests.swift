import HACore
import HAWire
import Testing

/// Randomized decoding: any input yields an envelope or a ``WireError``, never a trap.
/// Replay: `HACHAOS_SEED=<seed> swift test --filter WireFuzzTests`.
@Suite(.timeLimit(.minutes(1))) struct WireFuzzTests {
    @Test func decode_whenRandomBytes_onlyThrowsWireErrors() async {
        let seed = TestRandom.seed(fallback: 0x5EED_0001)
        print("WireFuzzTests random bytes seed=\(seed) replay: HACHAOS_SEED=\(seed) swift test --filter WireFuzzTests")
        var random = TestRandom(seed: seed)
        var accepted = 0
        var codes: Set<WireError.Code> = []
        for round in 0..<10_000 {
            // Let other tests' continuations run on the shared cooperative pool.
            if round % 500 == 0 { await Task.yield() }
            let length = Int(random.next() % 300)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if random.next() % 2 == 0, !bytes.isEmpty { bytes[0] = UInt8(ascii: "{") }
            do {
                _ = try Samples.decode(bytes)
                accepted += 1
            } catch {
                codes.insert(error.code)
            }
        }
        #expect(accepted == 0)
        #expect(codes == [.malformed])
    }

    @Test func decode_whenSingleByteMutations_acceptsOnlyValidSenders() async throws {
        let seed = TestRandom.seed(fallback: 0x5EED_0002)
        print("WireFuzzTests mutation seed=\(seed) replay: HACHAOS_SEED=\(seed) swift test --filter WireFuzzTests")
        var random = TestRandom(seed: seed)
        let original = try WireCodec.encode(Samples.envelope(Samples.messages[3], mac: "abc"))
        var accepted = 0
        var codes: Set<WireError.Code> = []
        for round in 0..<10_000 {
            if round % 500 == 0 { await Task.yield() }
            var bytes = original
            bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            do {
                let envelope = try Samples.decode(bytes)
                accepted += 1
                // What must never get through: another cluster, an unknown sender, another version.
                #expect(envelope.cluster == Samples.cluster)
                #expect(Samples.hosts.contains(envelope.from))
                #expect(envelope.v == Envelope.currentVersion)
            } catch {
                codes.insert(error.code)
                #expect(![.badMAC, .replayed, .oversized].contains(error.code))
            }
        }
        #expect(accepted > 0)
        #expect(codes.contains(.malformed))
    }
}
