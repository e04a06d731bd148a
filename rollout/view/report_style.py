"""The run report's stylesheet, inlined into every report (no external files or fonts).

Status colours are shared by the graph, the legend, the timeline and the pills:
green succeeded, orange failed-and-caught, red failed, blue running, grey not reached.
"""

CSS = """
:root {
  --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --card: #ffffff;
  --ok: #15803d; --ok-bg: #dcfce7; --ok-line: #22c55e;
  --caught: #c2410c; --caught-bg: #ffedd5; --caught-line: #f97316;
  --bad: #b91c1c; --bad-bg: #fee2e2; --bad-line: #ef4444;
  --run: #1d4ed8; --run-bg: #dbeafe; --run-line: #3b82f6;
  --idle: #94a3b8; --idle-bg: #ffffff; --idle-line: #cbd5e1;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans",
  sans-serif; }
main { max-width: 1480px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 16px; margin: 0 0 12px; letter-spacing: .01em; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; }
header { display: flex; justify-content: space-between; align-items: center; gap: 16px;
  margin-bottom: 16px; }
header .sub { margin: 4px 0 0; color: var(--muted); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 18px; margin-bottom: 18px; }
.note, .empty { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
.outcome { font-size: 15px; font-weight: 700; padding: 6px 16px; border-radius: 999px;
  text-transform: uppercase; letter-spacing: .05em; }
.outcome.good { background: var(--ok-bg); color: var(--ok); }
.outcome.bad { background: var(--bad-bg); color: var(--bad); }
.outcome.running { background: var(--run-bg); color: var(--run); }

.summary dl { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 10px 18px;
  margin: 0; }
.summary dt { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.summary dd { margin: 2px 0 0; font-weight: 600; overflow-wrap: anywhere; }
.reason { margin: 14px 0 0; padding: 10px 12px; border-radius: 8px; border-left: 4px solid;
  overflow-wrap: anywhere; }
.reason strong { margin-right: 8px; }
.reason.good { background: var(--ok-bg); border-color: var(--ok-line); }
.reason.bad { background: var(--bad-bg); border-color: var(--bad-line); }
.reason.running { background: var(--run-bg); border-color: var(--run-line); }

.columns { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px;
  align-items: stretch; margin-bottom: 18px; }
.columns > section { margin-bottom: 0; }
.graph-box { display: flex; gap: 28px; align-items: flex-start; }
.graph-scroll { overflow-x: auto; flex: 0 1 auto; min-width: 0; }
.graph-side { flex: 1 0 180px; }
.graph { display: block; max-width: 100%; height: auto; }
.legend { list-style: none; display: flex; flex-direction: column; gap: 8px; padding: 0;
  margin: 8px 0 10px; color: var(--muted); font-size: 13px; min-width: 170px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { width: 16px; height: 12px; border-radius: 3px; border: 1.5px solid; }
.legend .line { width: 22px; border-top: 1.5px solid var(--idle-line); }
.legend .line.taken { border-top: 3px solid var(--ink); }
.legend .line.catch { border-top: 1.5px dashed var(--idle); }
.legend .count { font-size: 11px; font-weight: 700; background: var(--ink); color: #fff;
  border-radius: 8px; padding: 0 6px; }
.swatch.succeeded { background: var(--ok-bg); border-color: var(--ok-line); }
.swatch.caught { background: var(--caught-bg); border-color: var(--caught-line); }
.swatch.failed { background: var(--bad-bg); border-color: var(--bad-line); }
.swatch.running { background: var(--run-bg); border-color: var(--run-line); }
.swatch.not-reached { background: var(--idle-bg); border-color: var(--idle-line); }

svg text { font-family: system-ui, "DejaVu Sans", "Liberation Sans", sans-serif; }
.graph .state > rect, .graph .state > polygon { stroke-width: 1.6; }
.graph .state text.name { text-anchor: middle; font-size: 12.5px; font-weight: 600; }
.graph .succeeded > * { fill: var(--ok-bg); stroke: var(--ok-line); }
.graph .caught > * { fill: var(--caught-bg); stroke: var(--caught-line); }
.graph .failed > * { fill: var(--bad-bg); stroke: var(--bad-line); }
.graph .running > * { fill: var(--run-bg); stroke: var(--run-line); stroke-width: 2.5; }
.graph .not-reached > * { fill: var(--idle-bg); stroke: var(--idle-line); }
.graph .state > text.name { fill: var(--ink); stroke: none; }
.graph .state > title { fill: none; }
.graph .not-reached > text.name { fill: var(--idle); font-weight: 500; }
.graph .end > rect { stroke-width: 2.6; }
.graph .state > .badge { fill: none; stroke: none; }
.graph .badge rect { fill: var(--ink); stroke: #fff; stroke-width: 1.5; }
.graph .badge text { fill: #fff; font-size: 11px; font-weight: 700; text-anchor: middle; }
.graph .edge path { fill: none; stroke: var(--idle-line); stroke-width: 1.2;
  marker-end: url(#arrow-idle); }
.graph .edge.catch path { stroke-dasharray: 5 4; }
.graph .edge.taken path { stroke: var(--ink); stroke-width: 2.4; marker-end: url(#arrow-taken); }
.graph .edge-label { font-size: 10.5px; fill: var(--muted); }
.graph .edge.taken .edge-label { fill: var(--ink); font-weight: 600; }
.graph #arrow-taken path { fill: var(--ink); }
.graph #arrow-idle path { fill: var(--idle-line); }
.graph .start circle { fill: var(--ink); }
.graph .start path { stroke: var(--ink); stroke-width: 2; }

.chart { width: 100%; height: auto; display: block; }
.chart .grid { stroke: var(--line); }
.chart .tick { stroke: var(--idle); }
.chart .axis { font-size: 11px; fill: var(--muted); }
.chart .axis.y { text-anchor: end; }
.chart .axis.x { text-anchor: middle; }
.chart .area { fill: var(--run-bg); opacity: .7; }
.chart .line { fill: none; stroke: var(--run-line); stroke-width: 2.5; }
.chart .marker circle { fill: #fff; stroke: var(--run-line); stroke-width: 2; }
.chart .marker text { font-size: 11px; font-weight: 600; fill: var(--ink); }
.chart .marker.promote circle { stroke: var(--ok-line); fill: var(--ok-line); }
.chart .marker.rollback circle { stroke: var(--bad-line); fill: var(--bad-line); }
.chart .marker.rollback text { fill: var(--bad); }
.chart .moment.ok circle { fill: var(--ok-line); }
.chart .moment.bad circle { fill: var(--bad-line); }
.chart .threshold { stroke: var(--bad-line); stroke-dasharray: 4 3; }
.chart .threshold-label { font-size: 10.5px; fill: var(--bad); text-anchor: end; }
.chart .series path { fill: none; stroke-width: 2; }
.chart .series.new path { stroke: var(--run-line); }
.chart .series.new circle { fill: var(--run-line); }
.chart .series.stable path { stroke: var(--idle); stroke-dasharray: 3 2; }
.chart .series.stable circle { fill: var(--idle); }
.chart .legend-text { font-size: 11px; fill: var(--muted); }
.chart .function .line { stroke: var(--fn); stroke-width: 2.2; }
.chart .series.fn path { stroke: var(--fn); }
.chart .series.fn circle { fill: var(--fn); }
.fn-0 { --fn: #2563eb; } .fn-1 { --fn: #db2777; } .fn-2 { --fn: #059669; }
.fn-3 { --fn: #d97706; } .fn-4 { --fn: #7c3aed; } .fn-5 { --fn: #0891b2; }
.fn-6 { --fn: #65a30d; } .fn-7 { --fn: #dc2626; } .fn-8 { --fn: #475569; }
.fn-9 { --fn: #c026d3; }
.fn-legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0;
  margin: 6px 0 0; font-size: 12.5px; }
.fn-legend li { display: flex; align-items: center; gap: 6px; }
.fn-legend .key { width: 18px; border-top: 3px solid var(--fn); }

table.functions { width: 100%; border-collapse: collapse; font-size: 13px; }
.functions th { text-align: left; color: var(--muted); font-weight: 600; padding: 4px 6px;
  border-bottom: 1px solid var(--line); }
.functions td { border-bottom: 1px solid var(--line); padding: 6px; vertical-align: top; }
.functions tr.failed td { background: var(--bad-bg); }
.functions .name { font-weight: 600; white-space: nowrap; }
.functions .name .key { display: inline-block; width: 14px; margin-right: 6px;
  vertical-align: middle; border-top: 3px solid var(--fn); }
.functions .why, .functions .sub { color: var(--muted); font-size: 12px; margin-top: 2px; }
.functions tr.failed .why { color: var(--bad); }

table.checks { width: 100%; border-collapse: collapse; margin-top: 12px; font-size: 12.5px; }
.checks th { text-align: left; color: var(--muted); font-weight: 600; padding: 4px 6px;
  border-bottom: 1px solid var(--line); }
.checks td { border-bottom: 1px solid var(--line); padding: 5px 6px; vertical-align: top; }
.checks tr.failed td { background: var(--bad-bg); }
.checks .rate { color: var(--muted); }
.checks .note { margin: 2px 0 0; }
.pill { display: inline-block; font-size: 11px; font-weight: 700; border-radius: 999px;
  padding: 1px 8px; margin-left: 6px; }
td > .pill { margin-left: 0; }
.pill.good, .pill.succeeded { background: var(--ok-bg); color: var(--ok); }
.pill.bad, .pill.failed { background: var(--bad-bg); color: var(--bad); }
.pill.caught { background: var(--caught-bg); color: var(--caught); }
.pill.running { background: var(--run-bg); color: var(--run); }
.pill.idle { background: var(--bg); color: var(--muted); border: 1px solid var(--line); }

.events { list-style: none; margin: 0; padding: 0; }
.events li { display: grid; grid-template-columns: 70px minmax(0, 1fr); gap: 12px;
  padding: 7px 0 7px 10px; border-left: 3px solid var(--line);
  border-bottom: 1px solid var(--line); }
.events li.succeeded, .events li.good { border-left-color: var(--ok-line); }
.events li.caught { border-left-color: var(--caught-line); }
.events li.failed, .events li.bad { border-left-color: var(--bad-line); }
.events li.running { border-left-color: var(--run-line); }
.events li.operator { border-left-color: var(--run-line); background: var(--run-bg); }
.events li.operator .detail { color: inherit; }
.events time { color: var(--muted); font-variant-numeric: tabular-nums; }
.events .title { font-weight: 600; }
.events .kind { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 6px; }
.events .detail { color: var(--bad); margin-top: 2px; overflow-wrap: anywhere; }
.events li.caught .detail { color: var(--caught); }
details { display: inline-block; margin: 4px 12px 0 0; vertical-align: top; }
details[open] { display: block; }
summary { cursor: pointer; color: var(--run); font-size: 12.5px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; font-size: 12px; max-height: 420px; overflow: auto; white-space: pre-wrap;
  overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; text-align: center; overflow-wrap: anywhere; }
@media (max-width: 1100px) { .columns { grid-template-columns: 1fr; }
  .graph-box { flex-direction: column; }
  .summary dl { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
"""
