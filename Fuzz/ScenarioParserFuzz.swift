import FuzzChecks

/// libFuzzer entry point for `FuzzChecks.scenarioParser` (`Scripts/fuzz scenario-parser`).
@_cdecl("LLVMFuzzerTestOneInput")
public func scenarioParserFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzChecks.fuzz(.scenarioParser, data, size)
}
