import HACore

// MARK: - The default topology

extension IsolationMatrix {
    /// The default topology: the cluster of the corpus's decision-table rows
    /// (`faults/isolation-row-05.yaml`): four hosts mounting two VMFS and two NFS datastores,
    /// one protected VM per host, vSphere 5.1 defaults.
    public static let defaultTopologyYAML = """
    name: default
    description: "The isolation rows' cluster: 4 hosts, 2 VMFS + 2 NFS datastores, one VM per host."
    profile: "5.1"
    duration: 400
    cluster:
      datastores:
        - {id: ds-fc1, type: vmfs}
        - {id: ds-fc2, type: vmfs}
        - {id: ds-nfs1, type: nfs}
        - {id: ds-nfs2, type: nfs}
      hosts: {count: 4}
      vms:
        - {id: vm-1, host: host-2, datastore: ds-fc1}
        - {id: vm-2, host: host-1, datastore: ds-fc1}
        - {id: vm-3, host: host-3, datastore: ds-nfs2}
        - {id: vm-4, host: host-4, datastore: ds-fc2}

    """

    /// The default topology, parsed.
    public static func defaultTopology() -> Scenario {
        do {
            return try ScenarioParser.parse(yaml: defaultTopologyYAML, path: "default")
        } catch {
            // A constant of this file: a parse failure is a bug here, caught by MatrixTests.
            preconditionFailure("the built-in matrix topology does not parse: \(error)")
        }
    }

    /// Plans the matrix on the default topology.
    public static func onDefaultTopology() -> IsolationMatrix {
        do {
            return try IsolationMatrix(topology: defaultTopology())
        } catch {
            preconditionFailure("the built-in matrix topology cannot be used: \(error)")
        }
    }
}
