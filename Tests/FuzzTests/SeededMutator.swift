import HASim

// MARK: - SeededMutator

/// A deterministic mutator in the manner of libFuzzer's (bit and byte changes, inserts, erases,
/// copies, dictionary tokens, interesting numbers, crossover), driven by SplitMix64: one seed
/// gives the same inputs on every machine.
struct SeededMutator {
    var random: SeededGenerator
    let corpus: [[UInt8]]
    let dictionary: [[UInt8]]
    let maxLength: Int

    static let interestingNumbers = [
        "0", "-1", "1", "-0", "255", "65536", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "1e308", "1e309", "-1e309", "4.9e-324", "0.1",
    ].map { Array($0.utf8) }

    init(seed: UInt64, corpus: [[UInt8]], dictionary: [[UInt8]], maxLength: Int) {
        random = SeededGenerator(seed: seed)
        self.corpus = corpus
        self.dictionary = dictionary
        self.maxLength = maxLength
    }

    private mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(random.next() % UInt64(bound)) }

    /// The next input: a corpus entry with one to four stacked mutations.
    mutating func next() -> [UInt8] {
        var bytes = corpus[below(corpus.count)]
        for _ in 0...below(4) { mutate(&bytes) }
        return bytes.count > maxLength ? Array(bytes.prefix(maxLength)) : bytes
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let position = below(bytes.count + 1)
        switch below(11) {
        case 0 where !bytes.isEmpty:   // flip a bit
            bytes[min(position, bytes.count - 1)] ^= 1 << UInt8(below(8))
        case 1 where !bytes.isEmpty:   // set a byte
            bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: random.next())
        case 2:   // insert random bytes
            bytes.insert(contentsOf: (0...below(8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: position)
        case 3 where !bytes.isEmpty:   // erase a range
            let start = min(position, bytes.count - 1)
            bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(16)))
        case 4 where !bytes.isEmpty:   // copy a range elsewhere
            let start = below(bytes.count)
            let part = Array(bytes[start..<min(bytes.count, start + 1 + below(64))])
            bytes.insert(contentsOf: part, at: below(bytes.count + 1))
        case 5 where !dictionary.isEmpty:   // insert a dictionary token
            bytes.insert(contentsOf: dictionary[below(dictionary.count)], at: position)
        case 6 where !dictionary.isEmpty && !bytes.isEmpty:   // overwrite with a dictionary token
            let token = dictionary[below(dictionary.count)]
            let start = min(position, bytes.count - 1)
            bytes.replaceSubrange(start..<min(bytes.count, start + token.count), with: token)
        case 7:   // replace a run of digits by an interesting number
            let digits = bytes.indices.filter { (0x30...0x39).contains(bytes[$0]) }
            guard let first = digits.isEmpty ? nil : digits[below(digits.count)] else { return }
            var end = first
            while end < bytes.count, (0x30...0x39).contains(bytes[end]) || bytes[end] == 0x2E { end += 1 }
            bytes.replaceSubrange(first..<end, with: Self.interestingNumbers[below(Self.interestingNumbers.count)])
        case 8:   // crossover: our prefix, another entry's suffix
            let other = corpus[below(corpus.count)]
            bytes = Array(bytes.prefix(position)) + Array(other.suffix(from: min(other.count, below(other.count + 1))))
        case 9 where !bytes.isEmpty:   // truncate
            bytes.removeSubrange(position..<bytes.count)
        default:   // duplicate a byte
            if !bytes.isEmpty { bytes.insert(bytes[min(position, bytes.count - 1)], at: position) }
        }
    }
}
