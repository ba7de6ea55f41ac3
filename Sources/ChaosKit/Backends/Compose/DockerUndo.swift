/// Undo steps for Docker resources in a ``RunJournal``, carried out through the Engine API
/// (``DockerEngine``), never by parsing `docker` output.
///
/// A journal's undo lists are argv lists; a Docker undo is the pseudo command
/// `hachaos-docker <verb> <name>`, which the ``Reaper`` and the compose backend recognise and
/// perform in-process. There is no executable of that name.
public enum DockerUndo {
    /// The pseudo command.
    public static let command = "hachaos-docker"

    /// Removes the container (with force: a running or paused one is killed first).
    public static func removeContainer(_ name: String) -> [String] { [command, "container-rm", name] }
    /// Removes the network (after its containers).
    public static func removeNetwork(_ name: String) -> [String] { [command, "network-rm", name] }
    /// Removes the image (with force; tests import throw-away images).
    public static func removeImage(_ name: String) -> [String] { [command, "image-rm", name] }
    /// Unpauses the container (a `host.freeze` left in place).
    public static func unpause(_ name: String) -> [String] { [command, "container-unpause", name] }

    /// Whether `argv` is a Docker undo.
    public static func isUndo(_ argv: [String]) -> Bool { argv.first == command }

    /// Carries out one Docker undo. "Already gone" (404, or not paused for an unpause) is success.
    ///
    /// - Returns: `nil` on success, else what went wrong.
    public static func perform(_ argv: [String], engine: DockerEngine = DockerEngine()) async -> String? {
        guard argv.count == 3, argv[0] == command else { return "malformed Docker undo: \(argv.joined(separator: " "))" }
        let name = argv[2]
        do {
            switch argv[1] {
            case "container-rm":
                try await engine.containerRemove(name, force: true)
            case "network-rm":
                try await engine.networkRemove(name)
            case "image-rm":
                try await engine.imageRemove(name, force: true)
            case "container-unpause":
                do {
                    try await engine.containerUnpause(name)
                } catch where error.isConflict {
                    return nil // not paused (or not running): nothing to undo
                }
            default:
                return "unknown Docker undo verb \(argv[1])"
            }
            return nil
        } catch where error.isNotFound {
            return nil
        } catch {
            return "\(argv.joined(separator: " ")): \(error)"
        }
    }
}
