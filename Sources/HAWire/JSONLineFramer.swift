// MARK: - JSONLineFramer

/// Splits a byte stream into `\n`-terminated lines with a bounded line length.
///
/// Feed bytes with ``append(_:)`` as they arrive and drain complete lines with ``nextLine()``.
/// Empty lines are skipped and a trailing `\r` is removed. A line longer than
/// ``maxLineBytes`` is an error, not a crash: ``nextLine()`` throws
/// ``JSONLineError/Code-swift.enum/lineTooLong`` once, drops that line (up to its newline) and
/// continues with the next one, so memory stays bounded by about one line plus one read.
public struct JSONLineFramer: Sendable {
    /// The longest line accepted, excluding its newline.
    public let maxLineBytes: Int

    private var buffer: [UInt8] = []
    /// Start of the first unconsumed byte in `buffer`.
    private var start = 0
    /// Where to resume the newline search (everything in `start..<searchFrom` has no newline).
    private var searchFrom = 0
    /// Dropping the rest of an oversized line until its newline.
    private var discarding = false

    /// Creates a framer.
    ///
    /// - Parameter maxLineBytes: The longest line accepted (default ``jsonLineMaxBytes``, 64 KiB).
    public init(maxLineBytes: Int = jsonLineMaxBytes) {
        self.maxLineBytes = max(1, maxLineBytes)
    }

    /// Bytes buffered but not yet returned as lines.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Adds received bytes.
    ///
    /// - Parameter bytes: The next chunk of the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next complete line, without its newline.
    ///
    /// - Returns: The line, or nil when no complete line is buffered yet.
    /// - Throws: ``JSONLineError`` with code `lineTooLong` when the next line exceeds
    ///   ``maxLineBytes``; the line is dropped and the next call continues after it.
    public mutating func nextLine() throws(JSONLineError) -> [UInt8]? {
        while true {
            if discarding {
                guard let newline = buffer[start...].firstIndex(of: 0x0A) else {
                    reset()
                    return nil
                }
                start = newline + 1
                searchFrom = start
                discarding = false
            }
            guard let newline = buffer[searchFrom...].firstIndex(of: 0x0A) else {
                // + 1: a full-length line may still be followed by "\r\n".
                if buffer.count - start > maxLineBytes + 1 {
                    let length = buffer.count - start
                    reset()
                    discarding = true
                    throw JSONLineError(.lineTooLong, "more than \(maxLineBytes) bytes without a newline (\(length) buffered)")
                }
                searchFrom = buffer.count
                compact()
                return nil
            }
            var end = newline
            let lineStart = start
            start = newline + 1
            searchFrom = start
            if end > lineStart, buffer[end - 1] == 0x0D { end -= 1 }
            if end - lineStart > maxLineBytes {
                compact()
                throw JSONLineError(.lineTooLong, "\(end - lineStart) bytes > \(maxLineBytes)")
            }
            if end == lineStart { continue }
            let line = Array(buffer[lineStart..<end])
            compact()
            return line
        }
    }

    /// Returns the unterminated rest of the stream at end of input (nil when empty).
    ///
    /// Call after ``nextLine()`` returned nil and the stream ended; the framer is empty afterwards.
    /// - Returns: The final line without a newline, if any.
    /// - Throws: ``JSONLineError`` with code `lineTooLong` when it exceeds ``maxLineBytes``.
    public mutating func finish() throws(JSONLineError) -> [UInt8]? {
        defer {
            reset()
            discarding = false
        }
        guard !discarding else { return nil }
        var end = buffer.count
        if end > start, buffer[end - 1] == 0x0D { end -= 1 }
        guard end > start else { return nil }
        guard end - start <= maxLineBytes else { throw JSONLineError(.lineTooLong, "\(end - start) bytes > \(maxLineBytes)") }
        return Array(buffer[start..<end])
    }

    // MARK: - Buffer management

    private mutating func reset() {
        buffer.removeAll(keepingCapacity: buffer.capacity <= 4 * maxLineBytes)
        start = 0
        searchFrom = 0
    }

    /// Drops consumed bytes once they dominate the buffer (amortised O(1) per byte).
    private mutating func compact() {
        guard start > 0 else { return }
        if start == buffer.count {
            reset()
        } else if start >= 4096, start * 2 >= buffer.count {
            buffer.removeFirst(start)
            searchFrom -= start
            start = 0
        }
    }
}
