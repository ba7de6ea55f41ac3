import ChaosKit
import Foundation
import Testing

/// ``ScenarioWriter`` output reads back as the scenario it was written from (issue 7 fuzzing).
@Suite struct ScenarioWriterTests {
    static func scenario(description: String) -> String {
        """
        name: writer-round-trip
        description: "\(description)"
        duration: 120
        cluster:
          datastores: [{id: ds-1}]
          hosts: {count: 2}
        """
    }

    /// Found by `Scripts/fuzz scenario-parser`: a `\0` escape in the description was written raw,
    /// and the written file no longer parsed ("control characters are not allowed").
    @Test(arguments: [
        #"nul \0 here"#, #"bell \a, tab \t, escape \e, del \x7F"#, #"two\nlines and a CR \r"#, #"NEL \N, LS \L, PS \P"#,
        #"C1 \x80 \x9F, BOM \uFEFF, noncharacter \uFFFE"#, #"quote \" backslash \\ é 😀"#,
    ])
    func yaml_whenDescriptionHasEscapedCharacters_readsBackTheSameDescription(_ escaped: String) throws {
        let original = try ScenarioParser.parse(yaml: Self.scenario(description: escaped), path: "w.yaml")
        let written = ScenarioWriter.yaml(original)
        let again = try ScenarioParser.parse(yaml: written, path: "w.yaml")
        #expect(again.description == original.description)
        #expect(ScenarioWriter.yaml(again) == written)
    }

    @Test func yaml_whenFuzzReproducer_parsesAgain() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/scenario-parser/regression-writer-control-character.yaml").path
        let yaml = try String(contentsOfFile: path, encoding: .utf8)
        let original = try ScenarioParser.parse(yaml: yaml, path: path)
        #expect(original.description.unicodeScalars.contains("\u{0}"))
        let again = try ScenarioParser.parse(yaml: ScenarioWriter.yaml(original), path: path)
        #expect(again.description == original.description)
    }
}
