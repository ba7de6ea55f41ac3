import FuzzChecks

/// libFuzzer entry point for `FuzzChecks.datastoreFiles` (`Scripts/fuzz datastore-files`).
@_cdecl("LLVMFuzzerTestOneInput")
public func datastoreFilesFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzChecks.fuzz(.datastoreFiles, data, size)
}
