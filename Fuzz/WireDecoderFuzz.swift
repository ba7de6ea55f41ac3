import FuzzChecks

/// libFuzzer entry point for `FuzzChecks.wireDecoder` (`Scripts/fuzz wire-decoder`).
@_cdecl("LLVMFuzzerTestOneInput")
public func wireDecoderFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzChecks.fuzz(.wireDecoder, data, size)
}
