import Foundation
import HACore
import HAWire
import Testing

@Suite struct DatastoreFileTests {
    // MARK: - protectedlist

    @Test func protectedList_whenSpecExample_parses() throws {
        let text = #"{"owner":"host-4","epoch":7,"renewedCounter":123,"vms":["vm-01","vm-02"]}"#
        let file = try ProtectedListFile.parse(Data(text.utf8))
        #expect(file == ProtectedListFile(owner: "host-4", epoch: 7, renewedCounter: 123, vms: ["vm-01", "vm-02"]))
    }

    @Test func protectedList_whenReleased_writesNullOwnerAndRoundTrips() throws {
        let file = ProtectedListFile(owner: nil, epoch: 3, renewedCounter: .max, vms: [])
        let data = try file.serialized()
        #expect(String(decoding: data, as: UTF8.self).contains(#""owner":null"#))
        #expect(try ProtectedListFile.parse(data) == file)
        #expect(try ProtectedListFile.parse(Data(#"{"epoch":1,"renewedCounter":2,"vms":[]}"#.utf8)).owner == nil)
    }

    @Test(arguments: [
        ("", DatastoreFileError.Code.empty),
        ("garbage", .malformed),
        (#"{"owner":"host-4","epoch":7,"renewedCounter":123}"#, .malformed),
        (#"{"owner":"host-4","epoch":-7,"renewedCounter":123,"vms":[]}"#, .malformed),
        (#"{"owner":"host-4","epoch":7,"renewedCounter":123,"vms":[1]}"#, .malformed),
        (#"{"owner":"","epoch":7,"renewedCounter":123,"vms":[]}"#, .invalidValue),
        (#"{"owner":"host-4","epoch":7,"renewedCounter":123,"vms":["../etc"]}"#, .invalidValue),
    ])
    func protectedList_whenGarbage_throwsCode(_ text: String, _ code: DatastoreFileError.Code) {
        let error = #expect(throws: DatastoreFileError.self) { try ProtectedListFile.parse(Data(text.utf8)) }
        #expect(error?.code == code)
    }

    @Test func parsers_whenOverOneMiB_throwTooLarge() {
        let data = Data(repeating: 0x20, count: DatastoreFiles.maxFileBytes + 1)
        #expect((#expect(throws: DatastoreFileError.self) { try ProtectedListFile.parse(data) })?.code == .tooLarge)
        #expect((#expect(throws: DatastoreFileError.self) { try HeartbeatFile.parse(data) })?.code == .tooLarge)
        #expect((#expect(throws: DatastoreFileError.self) { try PowerOnFileFormat.parse(data) })?.code == .tooLarge)
    }

    // MARK: - Heartbeat and disk lock

    @Test func heartbeat_whenSpecExample_roundTrips() throws {
        let file = try HeartbeatFile.parse(Data(#"{"host":"host-3","counter":42}"#.utf8))
        #expect(file == HeartbeatFile(host: "host-3", counter: 42))
        #expect(try HeartbeatFile.parse(try file.serialized()) == file)
        #expect(String(decoding: try file.serialized(), as: UTF8.self) == #"{"counter":42,"host":"host-3"}"#)
    }

    @Test(arguments: ["{}", #"{"host":"host-3"}"#, #"{"host":"host-3","counter":"42"}"#, #"{"host":"","counter":1}"#, "\u{0}"])
    func heartbeat_whenGarbage_throws(_ text: String) {
        #expect(throws: DatastoreFileError.self) { try HeartbeatFile.parse(Data(text.utf8)) }
    }

    @Test func diskLock_whenSpecExample_roundTrips() throws {
        let file = try DiskLockFile.parse(Data(#"{"instance":"vm-01#3","host":"host-2","counter":17}"#.utf8))
        #expect(file == DiskLockFile(instance: "vm-01#3", host: "host-2", counter: 17))
        #expect(try DiskLockFile.parse(try file.serialized()) == file)
        #expect(throws: DatastoreFileError.self) { try DiskLockFile.parse(Data(#"{"instance":"a/b","host":"host-2","counter":17}"#.utf8)) }
        #expect(throws: DatastoreFileError.self) { try DiskLockFile.parse(Data(#"{"instance":"vm-01#3","host":"","counter":17}"#.utf8)) }
        #expect(try DiskLockFile.parse(Data(#"{"instance":"","host":"","counter":18}"#.utf8)).isReleased)
    }

    // MARK: - Poweron file

    @Test(arguments: [
        PowerOnFile(isolated: false, poweredOn: []),
        PowerOnFile(isolated: true, poweredOn: ["vm-01"]),
        PowerOnFile(isolated: false, poweredOn: ["vm-01", "vm-02", "vm-10"]),
    ])
    func powerOn_whenSerialized_roundTrips(_ file: PowerOnFile) throws {
        let text = PowerOnFileFormat.serialize(file)
        #expect(text.hasPrefix(file.isolated ? "1\n" : "0\n"))
        #expect(try PowerOnFileFormat.parse(text) == file)
        #expect(try PowerOnFileFormat.parse(Data(text.utf8)) == file)
    }

    @Test func powerOn_whenCRLFOrNoFinalNewline_parses() throws {
        #expect(try PowerOnFileFormat.parse("1\r\nvm-01\r\nvm-02") == PowerOnFile(isolated: true, poweredOn: ["vm-01", "vm-02"]))
        #expect(try PowerOnFileFormat.parse("0") == PowerOnFile(isolated: false, poweredOn: []))
    }

    @Test(arguments: [
        ("", DatastoreFileError.Code.empty),
        ("\n", .malformed),
        ("2\nvm-01\n", .malformed),
        ("true\n", .malformed),
        ("1\n\nvm-01\n", .invalidValue),
        ("1\nvm 01\n", .invalidValue),
        ("1\n../x\n", .invalidValue),
        ("0\nvm-01\n\n", .invalidValue),
    ])
    func powerOn_whenGarbage_throwsCode(_ text: String, _ code: DatastoreFileError.Code) {
        let error = #expect(throws: DatastoreFileError.self) { try PowerOnFileFormat.parse(text) }
        #expect(error?.code == code)
    }

    @Test func powerOn_whenNotUTF8_throwsMalformed() {
        let error = #expect(throws: DatastoreFileError.self) { try PowerOnFileFormat.parse(Data([0x31, 0x0A, 0xFF, 0xFE])) }
        #expect(error?.code == .malformed)
    }

    // MARK: - Journal

    @Test func journal_whenRecordsAppended_roundTripsAndSkipsATornTail() throws {
        let records = (1...3).map { JournalRecord(vm: "vm-01", instance: "vm-01#3", host: "host-2", seq: UInt64($0), wall: 1_714_000_000.25 + Double($0)) }
        var file = Data()
        for record in records { file.append(try record.serializedLine()) }
        #expect(JournalRecord.parseJournal(file) == JournalRecord.Contents(records: records, rejectedLines: 0))
        file.append(Data(#"{"vm":"vm-01","inst"#.utf8))
        #expect(JournalRecord.parseJournal(file) == JournalRecord.Contents(records: records, rejectedLines: 1))
    }

    @Test func journal_whenNonFiniteWall_isRejectedBothWays() {
        let record = JournalRecord(vm: "vm-01", instance: "vm-01#3", host: "host-2", seq: 1, wall: .nan)
        #expect((#expect(throws: DatastoreFileError.self) { try record.serializedLine() })?.code == .unencodable)
        #expect(throws: DatastoreFileError.self) { try JournalRecord.parse(line: Data(#"{"vm":"vm-01","instance":"i","host":"h","seq":1}"#.utf8)) }
    }

    // MARK: - Robustness

    @Test func parsers_whenRandomBytes_neverTrap() async {
        let seed = TestRandom.seed(fallback: 0x5EED_0003)
        print("DatastoreFileTests seed=\(seed) replay: HACHAOS_SEED=\(seed) swift test --filter DatastoreFileTests")
        var random = TestRandom(seed: seed)
        var parsed = 0
        for round in 0..<1_000 {
            if round % 100 == 0 { await Task.yield() }
            let bytes = Data((0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next() % 4 == 0 ? 0x0A : random.next()) })
            if (try? ProtectedListFile.parse(bytes)) != nil { parsed += 1 }
            if (try? HeartbeatFile.parse(bytes)) != nil { parsed += 1 }
            if (try? DiskLockFile.parse(bytes)) != nil { parsed += 1 }
            if (try? JournalRecord.parse(line: bytes)) != nil { parsed += 1 }
            _ = try? PowerOnFileFormat.parse(bytes)
            _ = JournalRecord.parseJournal(bytes)
        }
        #expect(parsed == 0)
    }

    @Test(arguments: ["", ".", "..", "a/b", "x\u{0}", "tab\there", String(repeating: "a", count: 256)])
    func safeComponent_whenUnsafe_isRejected(_ name: String) {
        #expect(!DatastoreFiles.isSafeComponent(name))
    }

    @Test func names_followNodesSection3() {
        #expect(DatastoreFiles.heartbeatName("host-3") == "host-3-hb")
        #expect(DatastoreFiles.powerOnName("host-3") == "host-3-poweron")
        #expect(DatastoreFiles.temporaryName(for: "protectedlist", pid: 12) == ".protectedlist.tmp-12")
    }
}
