import ChaosKit
import Foundation
import HACore
import HATestKit
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

// MARK: - Helpers

/// One parsed XML element: its name, attributes, text and the names of its ancestors.
private struct Element {
    var name: String
    var attributes: [String: String]
    var text: String
    var parents: [String]
}

/// Parses a document with Foundation's `XMLParser` and keeps every element (document order).
private final class ElementCollector: NSObject, XMLParserDelegate {
    var elements: [Element] = []
    var open: [Int] = []
    var error: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements.append(Element(name: name, attributes: attributes, text: "", parents: open.map { elements[$0].name }))
        open.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        _ = open.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let index = open.last { elements[index].text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        error = "\(parseError) at line \(parser.lineNumber), column \(parser.columnNumber)"
    }
}

/// The elements of `xml`, or `nil` (with an issue recorded) when it is not well-formed.
private func parse(_ xml: String) -> [Element]? {
    let collector = ElementCollector()
    let parser = XMLParser(data: Data(xml.utf8))
    parser.delegate = collector
    let ok = parser.parse()
    guard ok, collector.error == nil else {
        Issue.record("not well-formed XML: \(collector.error ?? "parse() returned false")\n\(xml.prefix(2_000))")
        return nil
    }
    return collector.elements
}

/// The structural rules of the Jenkins `junit-10.xsd` that CI parsers rely on: the element
/// nesting, the allowed and required attributes, and `time` as a plain decimal.
private func schemaViolations(_ elements: [Element]) -> [String] {
    let allowed: [String: (parents: Set<String>, attributes: Set<String>, required: Set<String>)] = [
        "testsuites": ([], ["name", "time", "tests", "failures", "errors"], []),
        "testsuite": (["testsuites", "testsuite"], ["name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"],
                      ["name", "tests", "failures", "errors"]),
        "properties": (["testsuite"], [], []),
        "property": (["properties"], ["name", "value"], ["name", "value"]),
        "testcase": (["testsuite"], ["name", "time", "classname", "group"], ["name"]),
        "failure": (["testcase"], ["type", "message"], []),
        "error": (["testcase"], ["type", "message"], []),
        "skipped": (["testcase"], ["type", "message"], []),
        "system-out": (["testsuite", "testcase"], [], []),
        "system-err": (["testsuite", "testcase"], [], []),
    ]
    let decimal = /^[0-9]*(\.[0-9]*)?$/
    var violations: [String] = []
    if elements.first?.name != "testsuites" { violations.append("root is \(elements.first?.name ?? "nothing"), not testsuites") }
    for element in elements {
        guard let rule = allowed[element.name] else {
            violations.append("unknown element <\(element.name)>")
            continue
        }
        if let parent = element.parents.last, !rule.parents.contains(parent) { violations.append("<\(element.name)> inside <\(parent)>") }
        for key in element.attributes.keys where !rule.attributes.contains(key) { violations.append("<\(element.name)> has attribute \(key)") }
        for key in rule.required where element.attributes[key] == nil { violations.append("<\(element.name)> lacks \(key)") }
        if let time = element.attributes["time"], time.wholeMatch(of: decimal) == nil { violations.append("time \"\(time)\" is not a plain decimal") }
    }
    return violations
}

/// A fresh temporary folder.
private func temporaryDirectory(_ label: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("hachaos-report-\(label)-\(UUID().uuidString.prefix(8))").path
}

/// Occurrences of `needle` in `text`.
private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

/// The inline `<svg …>…</svg>` panels of a timeline page.
private func svgPanels(_ html: String) -> [String] {
    html.components(separatedBy: "<svg class=\"timeline\"").dropFirst().map { chunk in
        "<svg class=\"timeline\"" + (chunk.components(separatedBy: "</svg>").first ?? "") + "</svg>"
    }
}

/// A slave (host-3) powered off at model 20 s (scale 2): master host-1 declares it dead
/// `deadAfter` seconds later and restarts vm-1 on host-2 at T+19.
private func failedSlave(deadAfter: Double) -> History {
    var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1"), HistoryBuilder.vm("vm-2")], timeScale: 2, duration: 120)
    b.steadyRoles(master: "host-1")
    b.instance("vm-1", on: "host-3", from: 1, to: 20, reason: .hostFailed)
    b.instance("vm-2", on: "host-2", from: 1)
    b.fault(.powerOffHost("host-3"), at: 20)
    b.hostState("host-1", "host-3", .unreachable, at: 30)
    b.hostState("host-1", "host-3", .dead, at: 20 + deadAfter)
    b.restart("host-1", "vm-1", to: "host-2", at: 39)
    b.instance("vm-1", on: "host-2", from: 39.5, byHA: true)
    return b.build()
}

/// Runs a corpus scenario on the simulator and judges it.
private func simulate(_ file: String, bugs: Set<FDM.Bug> = []) async throws -> (History, [CheckResult]) {
    let faults = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("faults")
    let scenario = try #require(try ScenarioLoader.load(paths: [faults.appendingPathComponent(file).path]).first)
    let history = try await SimBackend().run(scenario, options: RunOptions(timeScale: 1, seed: 1, bugs: bugs))
    return (history, Checker.check(history, expectations: scenario.expectations))
}

private let mixedChecks = [
    CheckResult(id: "INV-FS1", name: "failed slave: dead at T18", passed: false, expected: "dead in [T17, T20]", observed: "declared dead at T+9.5", at: 77),
    CheckResult(id: "INV-E1", name: "one master", passed: true, expected: "at most one master", observed: "one master throughout", at: 30),
    CheckResult(id: "INV-H4", name: "NFS heartbeat mtime", passed: nil, expected: "mtime advances every 5 s", observed: "no NFS heartbeat datastore"),
]

// MARK: - junit.xml

@Suite struct JUnitReportTests {
    @Test func junit_whenChecksPassFailAndInconclusive_countsEachAndSkipsTheInconclusive() throws {
        let history = failedSlave(deadAfter: 18.1)
        let elements = try #require(parse(JUnitReport.xml(history: history, checks: mixedChecks)))
        #expect(schemaViolations(elements).isEmpty, "\(schemaViolations(elements))")
        let suite = try #require(elements.first { $0.name == "testsuite" })
        #expect(suite.attributes["name"] == "test")
        #expect(suite.attributes["tests"] == "3")
        #expect(suite.attributes["failures"] == "1")
        #expect(suite.attributes["skipped"] == "1")
        #expect(suite.attributes["errors"] == "0")
        #expect(suite.attributes["time"] == "240")   // 120 model s at scale 2
        let cases = elements.filter { $0.name == "testcase" }
        #expect(cases.map { $0.attributes["name"] } == ["INV-FS1 failed slave: dead at T18", "INV-E1 one master", "INV-H4 NFS heartbeat mtime"])
        #expect(cases.allSatisfy { $0.attributes["classname"] == "hachaos.test" })
        // The passing check has no child; the inconclusive one is skipped, never passed silently.
        #expect(elements.filter { $0.parents.last == "testcase" }.map(\.name) == ["failure", "skipped"])
        let skipped = try #require(elements.first { $0.name == "skipped" })
        #expect(skipped.attributes["message"] == "inconclusive: no NFS heartbeat datastore")
    }

    @Test func junit_whenCheckFails_failureCarriesIdExpectedObservedAndModelTime() throws {
        let history = failedSlave(deadAfter: 9.5)
        let elements = try #require(parse(JUnitReport.xml(history: history, checks: mixedChecks)))
        let failure = try #require(elements.first { $0.name == "failure" })
        #expect(failure.attributes["type"] == "INV-FS1")
        // at = 77 run s at time scale 2 → model 38.5 s.
        #expect(failure.attributes["message"] == "INV-FS1 failed at model 38.5 s: declared dead at T+9.5")
        #expect(failure.text.contains("expected: dead in [T17, T20]"))
        #expect(failure.text.contains("observed: declared dead at T+9.5"))
        #expect(failure.text.contains("at: model 38.5 s"))
        #expect(!failure.text.contains("77"))
    }

    @Test func junit_whenTextsHoldMarkupQuotesAndIllegalCharacters_escapesAndStaysWellFormed() throws {
        let nasty = "a<b>&c \"q\" 'apos' ]]> tab\tline\nend \u{1}\u{0}\u{B}\u{FFFE}\u{FFFF} ünï 🙂"
        let legal = "a<b>&c \"q\" 'apos' ]]> tab\tline\nend  ünï 🙂"
        let check = CheckResult(id: "INV-<&>", name: nasty, passed: false, expected: nasty, observed: nasty, at: 1)
        var history = failedSlave(deadAfter: 18)
        history.scenario = "sce\"nario<&>"
        let xml = JUnitReport.xml(history: history, checks: [check])
        #expect(!xml.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" })
        let elements = try #require(parse(xml))
        #expect(schemaViolations(elements).isEmpty, "\(schemaViolations(elements))")
        #expect(elements.first { $0.name == "testsuite" }?.attributes["name"] == "sce\"nario<&>")
        let testcase = try #require(elements.first { $0.name == "testcase" })
        #expect(testcase.attributes["name"] == "INV-<&> \(legal)")   // tab and newline kept as &#9; / &#10;
        #expect(testcase.attributes["classname"] == "hachaos.sce\"nario<&>")
        let failure = try #require(elements.first { $0.name == "failure" })
        #expect(failure.attributes["type"] == "INV-<&>")
        #expect(failure.text.contains("observed: \(legal)"))
    }

    @Test func junit_whenSeveralScenariosAndAnInfrastructureFailure_combinesSuitesWithTotals() throws {
        let a = JUnitReport.Suite(history: failedSlave(deadAfter: 18), checks: mixedChecks)
        var b = JUnitReport.Suite(history: failedSlave(deadAfter: 18), checks: [mixedChecks[1]])
        b.scenario = "second"
        let broken = JUnitReport.Suite.infrastructureFailure(scenario: "third", backend: "netns", message: "namespace setup failed: EPERM")
        let elements = try #require(parse(JUnitReport.xml([a, b, broken])))
        #expect(schemaViolations(elements).isEmpty, "\(schemaViolations(elements))")
        let root = try #require(elements.first)
        #expect(root.attributes["tests"] == "5")
        #expect(root.attributes["failures"] == "1")
        #expect(root.attributes["errors"] == "1")
        #expect(elements.filter { $0.name == "testsuite" }.map { $0.attributes["name"] } == ["test", "second", "third"])
        let error = try #require(elements.first { $0.name == "error" })
        #expect(error.attributes["message"] == "namespace setup failed: EPERM")
        #expect(broken.verdict == .inconclusive)
    }

    @Test func junit_whenSimulatedRunIsWritten_folderHoldsJUnitMatchingTheChecks() async throws {
        let (history, checks) = try await simulate("host-failure.yaml", bugs: [.earlyDeadDeclaration])
        let failed = checks.filter { $0.passed == false }
        #expect(!failed.isEmpty, "the mutant must fail some check")
        let directory = temporaryDirectory("junit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try RunWriter.write(history: history, checks: checks, to: directory)
        let xml = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        let elements = try #require(parse(xml))
        #expect(schemaViolations(elements).isEmpty, "\(schemaViolations(elements))")
        #expect(elements.filter { $0.name == "testcase" }.count == checks.count)
        #expect(elements.filter { $0.name == "failure" }.compactMap { $0.attributes["type"] } == failed.map(\.id))
        // The combined file rebuilt from the folder says the same.
        let combined = directory + "/combined.xml"
        try RunWriter.writeCombinedJUnit(scenarioDirectories: [directory, directory + "/missing"], to: combined)
        let all = try #require(parse(try String(contentsOfFile: combined, encoding: .utf8)))
        #expect(all.first?.attributes["failures"] == String(failed.count))
        #expect(all.first?.attributes["errors"] == "1")
        #expect(all.first?.attributes["tests"] == String(checks.count + 1))
    }
}

// MARK: - timeline.html

@Suite struct TimelineHTMLTests {
    @Test func timeline_whenFailingRunIsDrawn_isSelfContainedWithLanesFaultBandAndCheckAnchors() async throws {
        let (history, checks) = try await simulate("host-failure.yaml", bugs: [.earlyDeadDeclaration])
        let failed = try #require(checks.first { $0.passed == false && $0.at != nil })
        let directory = temporaryDirectory("timeline")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try RunWriter.write(history: history, checks: checks, to: directory)
        let html = try String(contentsOfFile: directory + "/timeline.html", encoding: .utf8)
        // Self-contained: no network reference, no script.
        #expect(!html.contains("http://"))
        #expect(!html.contains("https://"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))
        // Header.
        #expect(html.contains("<h1>host-failure <span class=\"verdict v-fail\">FAIL</span></h1>"))
        #expect(html.contains("<dt>backend</dt><dd>sim</dd>"))
        #expect(html.contains("<dt>seed</dt><dd>1</dd>"))
        // Panels: an overview plus a zoom on the power-off; each one a well-formed SVG with one lane per host.
        let panels = svgPanels(html)
        #expect(panels.count == 2)
        for panel in panels {
            _ = parse(panel)
            #expect(count("<g class=\"lane\"", in: panel) == history.cluster.hosts.count)
            for host in history.cluster.hosts {
                #expect(panel.contains("data-host=\"\(host.id.rawValue)\""))
            }
        }
        // The fault band and its label, the documented dead window next to the (early) observation.
        #expect(panels[0].contains("class=\"fault-band\""))
        #expect(panels[0].contains(">host.powerOff host-2</text>"))
        #expect(html.contains("host-2 dead [T17, T20] · observed T+9.5 ✗ outside"))
        // The failed check: a red row linked to its marker, the marker linked back to the row.
        let anchor = "check-\(failed.id)"
        #expect(count("id=\"\(anchor)\"", in: html) == 1)
        #expect(html.contains("<a href=\"#\(anchor)\">\(failed.id)</a>"))
        #expect(html.contains("<tr class=\"fail\" id=\"row-\(anchor)\">"))
        #expect(html.contains("<a href=\"#row-\(anchor)\"><g class=\"failed-check\" id=\"\(anchor)\">"))
        // Passing checks are not drawn as failures.
        for check in checks where check.passed == true {
            #expect(!html.contains("id=\"check-\(check.id)\""))
        }
    }

    @Test func timeline_whenDeadDeclaredInTime_windowShowsObservationInside() throws {
        let html = TimelineHTML.html(history: failedSlave(deadAfter: 18.2), checks: [])
        #expect(html.contains("host-3 dead [T17, T20] · observed T+18.2 ✓"))
        #expect(html.contains("host-3's VMs restarted [T14, T48] · observed T+19 ✓"))
        #expect(!html.contains("✗ outside"))
        #expect(!html.contains("class=\"failed-check\""))
        #expect(html.contains("<h1>test <span class=\"verdict v-inconclusive\">INCONCLUSIVE</span></h1>"))
    }

    @Test func timeline_whenTwoInstancesOfOneVMLiveAtOnce_outlinesTheSplitBrain() throws {
        var b = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1"), HistoryBuilder.vm("vm-2")], duration: 300)
        b.steadyRoles(master: "host-1")
        b.fault(.isolateHost("host-2", storageToo: true), at: 60, healed: 200)
        b.instance("vm-1", on: "host-2", from: 1, to: 210, reason: .lostLock)
        b.instance("vm-1", on: "host-1", from: 95, byHA: true)
        b.instance("vm-2", on: "host-3", from: 1)
        let html = TimelineHTML.html(history: b.build(), checks: [])
        #expect(html.contains("Split-brain: vm-1 live on host-2 and host-1 from model 95 s to 210 s"))
        #expect(count("class=\"bar end-lost-lock split\"", in: svgPanels(html)[0]) == 1)
        #expect(count("class=\"bar end-running split\"", in: svgPanels(html)[0]) == 1)
        #expect(count("class=\"overlap\"", in: svgPanels(html)[0]) == 2)
        #expect(count("class=\"bar end-running\"", in: svgPanels(html)[0]) == 1)   // vm-2: no outline

        var clean = HistoryBuilder(vms: [HistoryBuilder.vm("vm-1")], duration: 300)
        clean.steadyRoles(master: "host-1")
        clean.instance("vm-1", on: "host-2", from: 1, to: 90, reason: .hostFailed)
        clean.instance("vm-1", on: "host-1", from: 95, byHA: true)
        let cleanHTML = TimelineHTML.html(history: clean.build(), checks: [])
        #expect(!cleanHTML.contains("class=\"split-note\""))
        #expect(!cleanHTML.contains("class=\"overlap\""))
    }

    @Test func timeline_whenEscapingHostileTexts_panelsStayWellFormed() throws {
        var history = failedSlave(deadAfter: 18)
        history.scenario = "<script>alert('x')</script>"
        let check = CheckResult(id: "OUT-<x>#2", name: "n\"&", passed: false, expected: "<b>", observed: "a & b < c \u{1}", at: 40)
        let html = TimelineHTML.html(history: history, checks: [check])
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"))
        #expect(html.contains("id=\"check-OUT--x--2\""))
        #expect(!html.unicodeScalars.contains { $0.value == 1 })
        for panel in svgPanels(html) { _ = parse(panel) }
    }

    @Test func timeline_whenRunHasNoEvidenceAndNoChecks_stillDrawsEveryHostAndJUnitIsEmpty() throws {
        let history = HistoryBuilder(duration: 0).build()
        let html = TimelineHTML.html(history: history, checks: [])
        let panels = svgPanels(html)
        #expect(panels.count == 1)
        #expect(count("<g class=\"lane\"", in: panels[0]) == 3)
        #expect(!html.contains("\"nan") && !html.contains("\"inf") && !html.contains("\"-inf"))   // no non-finite coordinate
        let elements = try #require(parse(JUnitReport.xml(history: history, checks: [])))
        #expect(schemaViolations(elements).isEmpty, "\(schemaViolations(elements))")
        #expect(elements.first { $0.name == "testsuite" }?.attributes["tests"] == "0")
        #expect(elements.first { $0.name == "property" && $0.attributes["name"] == "verdict" }?.attributes["value"] == "inconclusive")
    }

    @Test(.timeLimit(.minutes(1)))
    func timeline_whenRunIsLongWithEightHostsAndThirtyTwoVMs_staysBoundedAndZoomsOnFaults() throws {
        let hosts = (1...8).map { HostID("host-\($0)") }
        let vms = (1...32).map { HistoryBuilder.vm(VMID("vm-\($0)")) }
        var b = HistoryBuilder(hosts: hosts, vms: vms, duration: 2100)
        b.steadyRoles(master: "host-8")
        for (i, vm) in vms.enumerated() { b.instance(vm.id, on: hosts[i % 8], from: 2) }
        for (n, at) in [(3, 300.0), (5, 900), (6, 1500)] {
            b.fault(.powerOffHost(hosts[n - 1]), at: at)
            b.hostState("host-8", hosts[n - 1], .dead, at: at + 18)
            for restart in 0..<50 { b.restart("host-8", vms[n - 1].id, to: hosts[(n + restart) % 7], at: at + 20 + Double(restart)) }
        }
        let html = TimelineHTML.html(history: b.build(), checks: [])
        let panels = svgPanels(html)
        #expect(panels.count == 4)   // the whole run and one zoom per fault
        #expect(count("<g class=\"lane\"", in: panels[0]) == 8)
        #expect(html.contains("host-8"))
        #expect(html.utf8.count < 2_000_000)
        // Zoomed panels leave out VM rows where nothing happens.
        #expect(panels[1].contains("VM(s) unchanged"))
        #expect(!panels[0].contains("VM(s) unchanged"))
    }
}
