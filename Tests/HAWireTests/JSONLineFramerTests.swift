import HAWire
import Testing

@Suite struct JSONLineFramerTests {
    private func drain(_ framer: inout JSONLineFramer) throws -> [String] {
        var lines: [String] = []
        while let line = try framer.nextLine() { lines.append(String(decoding: line, as: UTF8.self)) }
        return lines
    }

    @Test func framer_whenBytesArriveInPieces_yieldsWholeLines() throws {
        var framer = JSONLineFramer()
        framer.append(Array("{\"a\":1}\n{\"b\"".utf8))
        #expect(try drain(&framer) == ["{\"a\":1}"])
        framer.append(Array(":2}\r\n\n\n{\"c\":3}".utf8))
        #expect(try drain(&framer) == ["{\"b\":2}"])
        #expect(framer.bufferedByteCount == 7)
        #expect(try framer.finish().map { String(decoding: $0, as: UTF8.self) } == "{\"c\":3}")
        #expect(framer.bufferedByteCount == 0)
    }

    @Test func framer_whenRandomChunking_yieldsTheSameLines() throws {
        let seed = TestRandom.seed(fallback: 0x5EED_0004)
        print("JSONLineFramerTests seed=\(seed) replay: HACHAOS_SEED=\(seed) swift test --filter JSONLineFramerTests")
        var random = TestRandom(seed: seed)
        let expected = (0..<2_000).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 % 97))\"}" }
        let stream = Array(expected.joined(separator: "\n").utf8) + [0x0A]
        var framer = JSONLineFramer(maxLineBytes: 256)
        var lines: [String] = []
        var offset = 0
        while offset < stream.count {
            let size = min(stream.count - offset, Int(random.next() % 300) + 1)
            framer.append(stream[offset..<offset + size])
            offset += size
            lines += try drain(&framer)
        }
        #expect(lines == expected)
    }

    @Test func framer_whenCompleteLineTooLong_throwsOnceAndContinues() throws {
        var framer = JSONLineFramer(maxLineBytes: 8)
        framer.append(Array("12345678\n123456789\nok\n".utf8))
        #expect(try framer.nextLine() == Array("12345678".utf8))
        let error = #expect(throws: JSONLineError.self) { try framer.nextLine() }
        #expect(error?.code == .lineTooLong)
        #expect(try framer.nextLine() == Array("ok".utf8))
        #expect(try framer.nextLine() == nil)
    }

    @Test func framer_whenEndlessLine_throwsDiscardsAndResynchronises() throws {
        var framer = JSONLineFramer(maxLineBytes: 1024)
        framer.append([UInt8](repeating: 0x41, count: 5_000))
        #expect((#expect(throws: JSONLineError.self) { try framer.nextLine() })?.code == .lineTooLong)
        #expect(framer.bufferedByteCount == 0)
        framer.append([UInt8](repeating: 0x41, count: 100_000))
        #expect(try framer.nextLine() == nil)
        #expect(framer.bufferedByteCount == 0)
        framer.append(Array("AAA\n{\"next\":1}\n".utf8))
        #expect(try framer.nextLine() == Array("{\"next\":1}".utf8))
    }

    @Test func framer_whenDefaultLimit_is64KiB() throws {
        var framer = JSONLineFramer()
        #expect(framer.maxLineBytes == 64 * 1024)
        framer.append([UInt8](repeating: 0x20, count: 64 * 1024) + [0x0A])
        #expect(try framer.nextLine()?.count == 64 * 1024)
        framer.append([UInt8](repeating: 0x20, count: 64 * 1024 + 1) + [0x0A])
        #expect(throws: JSONLineError.self) { try framer.nextLine() }
    }
}
