// The rollouts list: running ones first, then the newest; a release is one row followed by
// a row per function, a pipeline of waves one row followed by a row per target. Filters by
// function and outcome; skipped runs hidden unless asked.
import { follow } from "./api.js";
import { age, el, pill, replace, weightBar } from "./dom.js";

const OUTCOMES = [
  "running", "succeeded", "rolled back", "failed", "rejected", "aborted", "timed out",
  "dry run", "noop", "skipped", "duplicate",
];
const COLUMNS = [
  "Rollout", "Versions", "Strategy", "Step", "Weight", "Health", "Status", "Age", "Started by",
];

export function runLink(arn) {
  return `#/run/${encodeURIComponent(arn)}`;
}

export function pipelineLink(arn) {
  return `#/pipeline/${encodeURIComponent(arn)}`;
}

export function showList(view, params) {
  const filters = {
    function: params.get("function") || "",
    outcome: params.get("outcome") || "",
    skipped: params.get("skipped") === "1",
  };
  let snapshot = null;
  const functionSelect = el("select", { name: "function", onchange: changed });
  const outcomeSelect = el(
    "select",
    { name: "outcome", onchange: changed },
    el("option", { value: "" }, "any outcome"),
    OUTCOMES.map((o) => el("option", { value: o, selected: o === filters.outcome }, o)),
  );
  const skippedBox = el("input", { type: "checkbox", checked: filters.skipped, onchange: changed });
  const status = el("p", { className: "note", id: "list-status" });
  const body = el("tbody");
  const table = el(
    "table",
    { className: "rollouts", id: "rollouts" },
    el("thead", {}, el("tr", {}, COLUMNS.map((c) => el("th", {}, c)))),
    body,
  );
  replace(
    view,
    el(
      "section",
      { className: "list" },
      el(
        "div",
        { className: "toolbar" },
        el("h2", {}, "Rollouts"),
        el("label", {}, "Function ", functionSelect),
        el("label", {}, "Outcome ", outcomeSelect),
        el("label", {}, skippedBox, " show skipped"),
      ),
      table,
      status,
    ),
  );

  function changed() {
    filters.function = functionSelect.value;
    filters.outcome = outcomeSelect.value;
    filters.skipped = skippedBox.checked;
    const query = new URLSearchParams();
    if (filters.function) query.set("function", filters.function);
    if (filters.outcome) query.set("outcome", filters.outcome);
    if (filters.skipped) query.set("skipped", "1");
    history.replaceState(null, "", `#/${query.size ? `?${query}` : ""}`);
    render();
  }

  function render() {
    if (!snapshot) return;
    const rows = snapshot.rows;
    const names = [...new Set(rows.flatMap((r) => r.functions))].sort();
    replace(
      functionSelect,
      el("option", { value: "" }, "all functions"),
      names.map((n) => el("option", { value: n, selected: n === filters.function }, n)),
    );
    const shown = rows
      .filter((r) => !filters.function || r.functions.includes(filters.function))
      .filter((r) => !filters.outcome || r.outcome === filters.outcome)
      .filter((r) => filters.skipped || !r.skipped || filters.outcome)
      .sort((a, b) => b.running - a.running || Date.parse(b.startedAt) - Date.parse(a.startedAt));
    replace(body, shown.length ? shown.flatMap(rowsOf) : emptyRow(rows.length));
    const read = `read ${snapshot.readAt.replace("T", " ").replace("Z", " UTC")}`;
    replace(
      status,
      `${shown.length} of the newest ${snapshot.window} executions · ${read}`,
      snapshot.problem ? el("span", { className: "problem" }, ` · ${snapshot.problem}`) : null,
    );
  }

  const tick = setInterval(() => {
    for (const cell of body.querySelectorAll("td.age")) cell.firstChild.data = age(cell.dataset.at);
  }, 1000);
  const close = follow("topic=list", (next) => {
    snapshot = next;
    render();
  }, (trouble) => {
    if (trouble) replace(status, el("span", { className: "problem" }, trouble));
  });
  return () => {
    clearInterval(tick);
    close();
  };
}

function emptyRow(total) {
  const text = total ? "No rollout matches these filters." : "No rollouts yet.";
  return el("tr", {}, el("td", { colSpan: COLUMNS.length, className: "empty" }, text));
}

function rowsOf(row) {
  return [rolloutRow(row), ...(row.members || []).map(memberRow)];
}

function rolloutRow(row) {
  const title = row.release || row.pipeline ? row.title : `${row.functions[0] || row.title}:${row.alias || "?"}`;
  return el(
    "tr",
    { className: `rollout ${row.pipeline ? "pipeline " : ""}${row.tone || ""}`, dataset: { arn: row.arn } },
    el(
      "td",
      {},
      el("a", { href: row.pipeline ? pipelineLink(row.arn) : runLink(row.arn) }, row.loading ? row.name : title),
      el("div", { className: "sub" }, row.name),
    ),
    el("td", {}, row.versions || ""),
    el("td", {}, row.strategy || ""),
    el("td", {}, row.step || "—"),
    el("td", {}, row.loading || row.pipeline ? "" : weightBar(row.weight)),
    el("td", { className: `health ${row.healthTone || ""}` }, row.health || ""),
    el("td", {}, pill(row.label, row.tone), row.reason ? el("div", { className: "sub why", title: row.reason }, row.reason) : null),
    el("td", { className: "age", dataset: { at: row.startedAt } }, age(row.startedAt)),
    el("td", { className: "sub" }, row.startedBy || ""),
  );
}

function memberRow(member) {
  return el(
    "tr",
    { className: "member" },
    el("td", {}, `└ ${member.name}`),
    el("td", {}, member.versions),
    el("td", {}, ""),
    el("td", {}, ""),
    el("td", {}, member.weight),
    el("td", { className: "health" }, member.health),
    el("td", { className: member.tone || "" }, member.verdict),
    el("td", {}, ""),
    el("td", {}, ""),
  );
}
