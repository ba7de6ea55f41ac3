import Foundation
import HACore
import HAAgentKit

// MARK: - TemporaryRoot

/// A fresh datastore root in the temporary directory, removed on ``remove()``.
struct TemporaryRoot {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-ds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    /// Creates `<root>/<ds>` (a mounted datastore).
    func mount(_ ds: DatastoreID) throws {
        try FileManager.default.createDirectory(atPath: "\(path)/\(ds.rawValue)", withIntermediateDirectories: true)
    }

    /// A store over this root for `cluster-1`.
    func store(observer: LeaseObserver = LeaseObserver()) -> DatastoreStore {
        DatastoreStore(cluster: "cluster-1", root: path, observer: observer)
    }

    /// Every file below `relative`, recursively (relative paths).
    func files(under relative: String = "") -> [String] {
        let base = relative.isEmpty ? path : "\(path)/\(relative)"
        return (FileManager.default.enumerator(atPath: base)?.allObjects as? [String] ?? []).sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
