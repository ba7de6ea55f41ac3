// MARK: - Style sheet of timeline.html

extension TimelineHTML {
    /// The page's only style sheet (inline; the page loads nothing).
    ///
    /// Colours: roles in blues (master dark), the master's view in traffic-light colours
    /// (alive green, unreachable yellow, dead red, isolated purple, partitioned orange), VM bars
    /// by end reason (running green), faults orange, failures and split-brain red.
    static let css = """
    body { font: 13px/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111827; margin: 16px 20px; background: #fff; }
    h1 { font-size: 22px; margin: 0 0 6px; }
    h2 { font-size: 15px; margin: 18px 0 4px; }
    h2 small { font-weight: normal; color: #6b7280; font-size: 12px; margin-left: 8px; }
    .verdict { font-size: 14px; padding: 2px 10px; border-radius: 4px; color: #fff; vertical-align: middle; margin-left: 10px; }
    .v-pass { background: #15803d; } .v-fail { background: #dc2626; } .v-inconclusive { background: #d97706; }
    dl.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 6px 0; }
    dl.facts div { display: flex; gap: 6px; } dl.facts dt { color: #6b7280; } dl.facts dd { margin: 0; font-weight: bold; }
    ul.failures { margin: 6px 0; padding: 6px 10px 6px 28px; background: #fef2f2; border-left: 4px solid #dc2626; }
    ul.failures a { color: #b91c1c; font-weight: bold; }
    .split-note { margin: 6px 0; padding: 4px 10px; background: #fef2f2; border-left: 4px solid #dc2626; color: #991b1b; font-weight: bold; }
    .legend { display: flex; flex-wrap: wrap; gap: 4px 26px; margin: 10px 0 4px; font-size: 12px; }
    .legend > div { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; }
    .legend b { margin-right: 2px; }
    .legend span { display: inline-flex; align-items: center; gap: 4px; }
    .sw { display: inline-block; width: 22px; height: 11px; border-radius: 2px; }
    .glyph { vertical-align: middle; }
    .panel { margin-top: 6px; }
    svg.timeline { width: 100%; height: auto; display: block; border: 1px solid #e5e7eb; }
    svg text { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 11px; fill: #111827; }
    .tick { text-anchor: middle; fill: #6b7280; font-size: 10px; } .tick.rel { fill: #9a3412; }
    .axis-title { fill: #6b7280; font-size: 10px; }
    .grid { stroke: #e5e7eb; stroke-width: 1; }
    .lane-bg { fill: #f8fafc; }
    .host { font-weight: bold; font-size: 12px; }
    .vm { fill: #4b5563; font-size: 10px; }
    .role-master, .sw.role-master { fill: #1e3a8a; background: #1e3a8a; }
    .role-slave, .sw.role-slave { fill: #93c5fd; background: #93c5fd; }
    .role-election, .sw.role-election { fill: #f59e0b; background: #f59e0b; }
    .role-none, .sw.role-none { fill: #d1d5db; background: #d1d5db; }
    .role-off, .sw.role-off { fill: #374151; background: #374151; }
    .role-label { fill: #fff; font-size: 9.5px; font-weight: bold; pointer-events: none; }
    .state text { font-size: 8.5px; fill: #fff; pointer-events: none; }
    .state-alive text, .state-unreachable text { fill: #111827; }
    .row-title { fill: #6b7280; font-size: 10px; font-style: italic; }
    .hidden-note { fill: #9ca3af; font-style: italic; font-size: 9.5px; }
    .state-alive, .sw.state-alive { fill: #22c55e; background: #22c55e; }
    .state-unreachable, .sw.state-unreachable { fill: #facc15; background: #facc15; }
    .state-dead, .sw.state-dead { fill: #dc2626; background: #dc2626; }
    .state-isolated, .sw.state-isolated { fill: #7e22ce; background: #7e22ce; }
    .state-partitioned, .sw.state-partitioned { fill: #ea580c; background: #ea580c; }
    .bar text { fill: #fff; font-size: 9.5px; pointer-events: none; paint-order: stroke; stroke: rgba(0, 0, 0, 0.55); stroke-width: 2.5px; }
    .end-running rect, .sw.end-running { fill: #16a34a; background: #16a34a; }
    .end-host-failed rect, .sw.end-host-failed { fill: #475569; background: #475569; }
    .end-isolation-response rect, .sw.end-isolation-response { fill: #9333ea; background: #9333ea; }
    .end-lost-lock rect, .sw.end-lost-lock { fill: #f97316; background: #f97316; }
    .end-user-poweroff rect, .sw.end-user-poweroff { fill: #9ca3af; background: #9ca3af; }
    .end-crashed rect, .sw.end-crashed { fill: #92400e; background: #92400e; }
    .end-vm-monitoring-reset rect, .sw.end-vm-monitoring-reset { fill: #0d9488; background: #0d9488; }
    .end-pdl rect, .sw.end-pdl { fill: #db2777; background: #db2777; }
    .bar.split > rect:first-of-type { stroke: #dc2626; stroke-width: 2.5; }
    .bar rect.overlap { fill: url(#split-hatch); fill-opacity: 0.75; stroke: #dc2626; stroke-width: 2.5; }
    svg.defs { position: absolute; }
    .sw.split { background: repeating-linear-gradient(45deg, #fca5a5 0 3px, #fff 3px 6px); outline: 2.5px solid #dc2626; outline-offset: -2px; }
    .fault rect { fill: #fdba74; stroke: #ea580c; }
    .fault text { fill: #7c2d12; font-weight: bold; }
    .fault-band { fill: #fb923c; fill-opacity: 0.12; }
    .fault-line { stroke: #ea580c; stroke-width: 1.5; stroke-dasharray: 4 3; }
    .sw.fault-sw { background: #fed7aa; border: 1px solid #ea580c; }
    .window path { stroke: #334155; stroke-width: 1.5; fill: none; }
    .window text { fill: #334155; font-size: 10.5px; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
    circle.in { fill: #16a34a; stroke: #fff; } circle.out { fill: #dc2626; stroke: #fff; }
    .finding.ok { fill: #16a34a; } .finding.unknown { fill: #f59e0b; }
    .failed-check line { stroke: #dc2626; stroke-width: 1.5; stroke-dasharray: 5 3; }
    .failed-check rect { fill: #dc2626; }
    .failed-check text { fill: #fff; font-weight: bold; }
    .sw.failed-sw { background: #dc2626; width: 4px; }
    .m-electionStarted { fill: #fff; stroke: #b45309; stroke-width: 2; }
    .m-electionWon { fill: #b45309; stroke: #fff; stroke-width: 1; }
    .m-isolationDeclared { fill: #7e22ce; stroke: #fff; stroke-width: 1; }
    .m-isolationCleared { fill: #fff; stroke: #7e22ce; stroke-width: 2; }
    .m-responseApplied { fill: #6b21a8; stroke: #fff; stroke-width: 1; }
    .m-responseDeferred { fill: #fff; stroke: #6b21a8; stroke-width: 2; }
    .m-restartIssued { fill: #1d4ed8; stroke: #fff; stroke-width: 1; }
    .m-restartFailed { fill: none; stroke: #dc2626; stroke-width: 2.5; }
    .checks table { border-collapse: collapse; width: 100%; font-size: 12px; }
    .checks th, .checks td { border: 1px solid #e5e7eb; padding: 3px 6px; text-align: left; vertical-align: top; }
    .checks th { background: #f3f4f6; }
    .checks td.id { white-space: nowrap; font-weight: bold; } .checks td.num { white-space: nowrap; text-align: right; }
    .checks tr.fail { background: #fee2e2; } .checks tr.fail td { color: #7f1d1d; } .checks tr.fail a { color: #b91c1c; }
    .checks tr.inconclusive { background: #fef3c7; }
    .checks tr:target { outline: 3px solid #dc2626; }

    """
}
