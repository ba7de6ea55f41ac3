import HACore

/// SplitMix64: a small, fast, seedable generator. The same seed gives the same stream on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// A duration uniformly drawn in [low, high].
    public mutating func duration(_ low: Duration, _ high: Duration) -> Duration {
        let span = high.nanoseconds - low.nanoseconds
        guard span > 0 else { return low }
        return .nanoseconds(low.nanoseconds + Int64(next() % UInt64(span + 1)))
    }
}

/// A binary min-heap of scheduled simulator events ordered by (time, sequence): deterministic ties.
struct EventQueue {
    private var items: [Scheduled] = []
    struct Scheduled {
        var time: Instant
        var sequence: UInt64
        var action: SimAction
        func precedes(_ other: Scheduled) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }
    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var nextTime: Instant? { items.first?.time }

    mutating func push(_ item: Scheduled) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Scheduled? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < items.count, items[left].precedes(items[best]) { best = left }
            if right < items.count, items[right].precedes(items[best]) { best = right }
            if best == parent { break }
            items.swapAt(parent, best)
            parent = best
        }
        return top
    }
}
