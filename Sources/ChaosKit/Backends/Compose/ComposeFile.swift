import Foundation
import HACore

/// Renders a ``ComposeLayout`` as a Compose file that Debian's `docker-compose` 1.29.2 reads
/// (file format 2.4: `internal` networks with an explicit IPAM subnet and gateway, fixed
/// `ipv4_address`, `mac_address`, `read_only`, `tmpfs`, `mem_limit`, `pids_limit`, `stop_signal`).
///
/// Every scalar is written as a JSON string, which is valid YAML and needs no further quoting;
/// `$` is doubled, since docker-compose interpolates variables.
public enum ComposeFile {
    /// The compose file format version.
    public static let version = "2.4"

    /// The file's text. `header` lines become `#` comments at the top.
    public static func render(_ layout: ComposeLayout, limits: NetnsLayout.Limits = .init(), header: [String] = []) -> String {
        var out: [String] = header.map { "# " + $0 }
        // docker-compose interpolates `$NAME`; `$$` is a literal dollar.
        func q(_ text: String) -> String { quote(text.replacingOccurrences(of: "$", with: "$$")) }
        out.append("version: \(q(version))")
        out.append("services:")
        for service in layout.services {
            out.append("  \(q(service.name)):")
            out.append("    image: \(q(layout.image))")
            out.append("    container_name: \(q(service.name))")
            out.append("    hostname: \(q(service.host?.rawValue ?? service.name))")
            out.append("    command: [\(service.command.map(q).joined(separator: ", "))]")
            out.append("    read_only: true")
            if !service.tmpfs.isEmpty {
                out.append("    tmpfs:")
                for (path, options) in service.tmpfs.sorted(by: { $0.key < $1.key }) { out.append("      - \(q(options.isEmpty ? path : path + ":" + options))") }
            }
            if !service.binds.isEmpty {
                out.append("    volumes:")
                for bind in service.binds { out.append("      - \(q(bind))") }
            }
            out.append("    networks:")
            out.append("      \(q(layout.networkName)):")
            out.append("        ipv4_address: \(q(service.address))")
            out.append("    mac_address: \(q(service.mac))")
            out.append("    labels:")
            for (key, value) in service.labels.sorted(by: { $0.key < $1.key }) { out.append("      \(q(key)): \(q(value))") }
            out.append("    stop_signal: \(q(service.stopSignal))")
            out.append("    stop_grace_period: \(q("\(service.stopTimeoutSeconds)s"))")
            out.append("    mem_limit: \(limits.memoryBytes)")
            out.append("    pids_limit: \(limits.pids)")
            out.append("    logging:")
            out.append("      driver: \(q("none"))")
        }
        out.append("networks:")
        out.append("  \(q(layout.networkName)):")
        out.append("    driver: \(q("bridge"))")
        out.append("    internal: true")
        out.append("    enable_ipv6: false")
        if !layout.manual {
            out.append("    driver_opts:")
            out.append("      \(q("com.docker.network.bridge.name")): \(q(layout.bridgeName))")
        }
        out.append("    ipam:")
        out.append("      config:")
        out.append("        - subnet: \(q(layout.subnet))")
        out.append("          gateway: \(q(layout.gatewayAddress))")
        out.append("    labels:")
        for (key, value) in layout.runLabels.sorted(by: { $0.key < $1.key }) { out.append("      \(q(key)): \(q(value))") }
        return out.joined(separator: "\n") + "\n"
    }

    /// A JSON string literal (valid YAML double-quoted scalar).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
