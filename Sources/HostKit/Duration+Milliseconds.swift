import HACore

extension Duration {
    /// The span in whole milliseconds (truncating), for command-line arguments.
    public var wholeMilliseconds: Int64 { nanoseconds / 1_000_000 }
}
