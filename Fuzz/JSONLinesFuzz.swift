import FuzzChecks

/// libFuzzer entry point for `FuzzChecks.jsonLines` (`Scripts/fuzz json-lines`).
@_cdecl("LLVMFuzzerTestOneInput")
public func jsonLinesFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzChecks.fuzz(.jsonLines, data, size)
}
