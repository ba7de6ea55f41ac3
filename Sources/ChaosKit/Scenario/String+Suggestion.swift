extension String {
    /// The candidate this string was most likely meant to be (a typo: case, or a few edits), for
    /// "did you mean" hints in ``ScenarioError`` messages.
    ///
    /// Short strings get no edit-based hint: `5.5` is not a misspelling of `5.0`.
    ///
    /// - Parameter candidates: The valid spellings.
    /// - Returns: The closest candidate, or `nil` when none is close.
    func closestMatch(in candidates: [String]) -> String? {
        if let sameIgnoringCase = candidates.first(where: { $0.lowercased() == lowercased() }) { return sameIgnoringCase }
        let limit = Swift.min(2, count / 4)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(to: candidate)
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of neighbours
    /// (optimal string alignment), so `hots` is one edit from `host`.
    private func editDistance(to other: String) -> Int {
        let a = Array(self), b = Array(other)
        if a.isEmpty || b.isEmpty { return Swift.max(a.count, b.count) }
        var distance = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { distance[i][0] = i }
        for j in 0...b.count { distance[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                distance[i][j] = Swift.min(distance[i - 1][j] + 1, distance[i][j - 1] + 1, distance[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    distance[i][j] = Swift.min(distance[i][j], distance[i - 2][j - 2] + 1)
                }
            }
        }
        return distance[a.count][b.count]
    }
}
