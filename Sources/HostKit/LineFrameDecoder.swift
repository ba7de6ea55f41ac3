import NIOCore

/// Splits a byte stream into lines (without `\n`, a trailing `\r` dropped), at most
/// ``maxLength`` bytes each: the framing of NODES.md §5.
///
/// A longer line is a protocol error: the decoder throws ``HostKitError`` (code `.malformed`)
/// and the channel closes, rather than buffering without bound.
public struct LineFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    /// The longest accepted line.
    public let maxLength: Int

    public init(maxLength: Int = JSONLines.maxLineLength) {
        self.maxLength = maxLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxLength {
                throw HostKitError(.malformed, "line longer than \(maxLength) bytes")
            }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        if length > maxLength { throw HostKitError(.malformed, "line longer than \(maxLength) bytes") }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)! }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
