import Foundation
import HACore
import HAAgentKit
import HAWire
import Testing

@Suite struct DatastoreStoreTests {
    // MARK: - Atomic writes

    @Test func writeAtomically_whenDone_leavesOnlyTheFile() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let store = root.store()
        for index in 0..<5 {
            let result = store.writeAtomically("\(root.path)/file", Data("v\(index)".utf8))
            #expect((try? result.get()) != nil)
        }
        #expect(root.files() == ["file"])
        #expect(store.read("\(root.path)/file") == Data("v4".utf8))
    }

    @Test func temporaryName_isRecognisedAndNothingElseIs() {
        #expect(DatastoreFiles.isTemporaryName(DatastoreFiles.temporaryName(for: "protectedlist", pid: 4321)))
        #expect(DatastoreFiles.isTemporaryName(".host-1-hb.tmp-7"))
        for name in ["protectedlist", ".tmp-12", "x.tmp-12", ".x.tmp-", ".x.tmp-12a", ".x.tmp", ".pdl", "host-1-poweron"] {
            #expect(!DatastoreFiles.isTemporaryName(name), "\(name)")
        }
    }

    @Test func removeAbandonedTemporaries_removesOnlyOldTemporaryFiles() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.writeHeartbeat("ds-1", host: "host-1", counter: 1))
        let directory = try #require(store.haDirectoryPath("ds-1"))
        let old = [".protectedlist.tmp-111", ".host-2-poweron.tmp-222"]
        let fresh = ".host-3-hb.tmp-333"
        for name in old + [fresh, "notes.tmp-1"] {
            #expect(FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: Data("torn".utf8)))
        }
        try FileManager.default.createDirectory(atPath: "\(directory)/.dir.tmp-9", withIntermediateDirectories: false)
        // Two minutes old: abandoned by a killed writer. (A directory of that name is left alone.)
        let twoMinutesAgo = Date().addingTimeInterval(-120)
        for name in old + [".dir.tmp-9"] {
            try FileManager.default.setAttributes([.modificationDate: twoMinutesAgo], ofItemAtPath: "\(directory)/\(name)")
        }
        #expect(store.removeAbandonedTemporaries("ds-1") == 2)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
        #expect(left.isDisjoint(with: old))
        #expect(left.isSuperset(of: [fresh, "notes.tmp-1", ".dir.tmp-9", "host-1-hb"]))
        #expect(store.readHeartbeat("ds-1", host: "host-1") == 1)
        #expect(store.removeAbandonedTemporaries("ds-2") == 0, "an unmounted datastore sweeps nothing")
    }

    @Test func writeAtomically_whenDirectoryMissing_failsWithNotFoundAndLeavesNothing() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let result = root.store().writeAtomically("\(root.path)/missing/file", Data("x".utf8))
        guard case .failure(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error.code == .notFound)
        #expect(root.files().isEmpty)
    }

    @Test func writeAtomically_whenConcurrentWritersOfOnePath_fileIsAlwaysWhole() async throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        await withTaskGroup(of: Void.self) { group in
            for counter in 1...20 {
                group.addTask { store.writeHeartbeat("ds-1", host: "host-1", counter: UInt64(counter)) }
            }
        }
        let counter = try #require(store.readHeartbeat("ds-1", host: "host-1"))
        #expect((1...20).contains(counter))
        #expect(root.files(under: "ds-1/.vSphere-HA/cluster-1") == ["host-1-hb"])
    }

    // MARK: - Heartbeat, poweron, markers

    @Test func heartbeat_whenWritten_readsBackAndUsesTheSpecPath() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.readHeartbeat("ds-1", host: "host-3") == nil)
        #expect(store.writeHeartbeat("ds-1", host: "host-3", counter: 41))
        #expect(store.writeHeartbeat("ds-1", host: "host-3", counter: 42))
        #expect(store.readHeartbeat("ds-1", host: "host-3") == 42)
        let data = try #require(store.read("\(root.path)/ds-1/.vSphere-HA/cluster-1/host-3-hb"))
        #expect(try HeartbeatFile.parse(data) == HeartbeatFile(host: "host-3", counter: 42))
        #expect(root.files(under: "ds-1/.vSphere-HA/cluster-1") == ["host-3-hb"])
    }

    @Test func heartbeat_whenFileNamesAnotherHostOrIsGarbage_readsNil() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.writeHeartbeat("ds-1", host: "host-3", counter: 1))
        let path = "\(root.path)/ds-1/.vSphere-HA/cluster-1/host-4-hb"
        try HeartbeatFile(host: "host-3", counter: 9).serialized().write(to: URL(fileURLWithPath: path))
        #expect(store.readHeartbeat("ds-1", host: "host-4") == nil)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        #expect(store.readHeartbeat("ds-1", host: "host-4") == nil)
    }

    @Test func powerOn_whenWritten_readsBack() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        let file = PowerOnFile(isolated: true, poweredOn: ["vm-01", "vm-02"])
        #expect(store.readPowerOn("ds-1", host: "host-1") == nil)
        #expect(store.writePowerOn("ds-1", host: "host-1", file))
        #expect(store.readPowerOn("ds-1", host: "host-1") == file)
        let text = try #require(store.read("\(root.path)/ds-1/.vSphere-HA/cluster-1/host-1-poweron"))
        #expect(String(decoding: text, as: UTF8.self) == "1\nvm-01\nvm-02\n")
    }

    @Test func markers_whenWrittenAndRemoved_listExactlyThePresentOnes() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.poweredOffMarkers("ds-1").isEmpty)
        #expect(store.writeMarker("ds-1", vm: "vm-01"))
        #expect(store.writeMarker("ds-1", vm: "vm-02"))
        #expect(store.writeMarker("ds-1", vm: "vm-02"))
        #expect(store.poweredOffMarkers("ds-1") == ["vm-01", "vm-02"])
        #expect(store.removeMarker("ds-1", vm: "vm-01"))
        #expect(store.removeMarker("ds-1", vm: "vm-01"))
        #expect(store.poweredOffMarkers("ds-1") == ["vm-02"])
        #expect(root.files(under: "ds-1/.vSphere-HA/cluster-1/poweredoff") == ["vm-02"])
    }

    @Test func operations_whenIDsAreUnsafe_failWithoutTouchingTheDisk() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(!store.writeHeartbeat("ds-1", host: "../../escape", counter: 1))
        #expect(!store.writeMarker("ds-1", vm: ".."))
        #expect(!store.writeMarker("../ds-1", vm: "vm-01"))
        #expect(!store.acquireProtectedList("ds-1", host: "a/b", vms: [], expiry: .seconds(20), now: .zero))
        #expect(store.health(of: "..") == .allPathsDown)
        #expect(root.files() == ["ds-1"])
    }

    // MARK: - Health

    @Test func health_whenDatastoreDirectoryMissing_isAllPathsDownAndNothingIsCreated() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let store = root.store()
        #expect(store.health(of: "ds-9") == .allPathsDown)
        #expect(!store.writeHeartbeat("ds-9", host: "host-1", counter: 1))
        #expect(store.readHeartbeat("ds-9", host: "host-1") == nil)
        #expect(root.files().isEmpty)
    }

    @Test func health_whenPDLMarkerPresent_isPermanentDeviceLoss() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        #expect(FileManager.default.createFile(atPath: "\(root.path)/ds-1/.pdl", contents: Data()))
        #expect(root.store().health(of: "ds-1") == .permanentDeviceLoss)
    }

    @Test func health_whenMountedAndWritable_isAccessibleAndLeavesNoProbe() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        #expect(root.store().health(of: "ds-1") == .accessible)
        #expect(root.files(under: "ds-1") == [".vSphere-HA", ".vSphere-HA/cluster-1"])
    }

    @Test func health_whenDatastoreDisappears_failsAtOnce() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try root.mount("ds-1")
        let store = root.store()
        #expect(store.writeHeartbeat("ds-1", host: "host-1", counter: 1))
        try FileManager.default.removeItem(atPath: "\(root.path)/ds-1")
        #expect(store.health(of: "ds-1") == .allPathsDown)
        #expect(store.readHeartbeat("ds-1", host: "host-1") == nil)
        #expect(!store.writeHeartbeat("ds-1", host: "host-1", counter: 2))
        #expect(store.protectedListOwned("ds-1", expiry: .seconds(20), now: .zero) == nil)
    }
}
