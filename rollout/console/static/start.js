// The start form: a sample of events/console/ to edit, checked as `rollout plan` checks it
// (Prepare's own checks, then Prepare with dryRun). Start is enabled only once the plan of
// exactly the text in the box has been shown; any edit asks for a new plan.
import { get, post } from "./api.js";
import { el, replace } from "./dom.js";
import { runLink } from "./list.js";

export function showStart(view) {
  let planned = null; // the text whose plan is shown
  const sample = el("select", { name: "sample" });
  const input = el("textarea", { name: "input", id: "input", rows: 18, spellcheck: false });
  const planButton = el("button", { type: "button", className: "primary", id: "plan" }, "Plan");
  const startButton = el("button", { type: "button", className: "danger", id: "start", disabled: true }, "Start");
  const message = el("p", { className: "control-result", id: "start-result", role: "status" });
  const plan = el("pre", { className: "plan", id: "plan-text", hidden: true });
  replace(
    view,
    el("p", { className: "crumbs" }, el("a", { href: "#/" }, "← Rollouts")),
    el("section", { className: "start" },
      el("h2", {}, "Start a rollout"),
      el("p", { className: "note" }, "The same input as `rollout start --input FILE` and the Step Functions console. ",
        "Plan checks it as `rollout plan` does and changes nothing; Start is enabled once its plan is shown."),
      el("label", {}, "Sample ", sample),
      input,
      el("div", { className: "buttons" }, planButton, startButton),
      message,
      plan),
  );

  const invalidate = () => {
    planned = null;
    startButton.disabled = true;
  };
  input.addEventListener("input", invalidate);
  sample.addEventListener("change", () => {
    input.value = sample.value;
    invalidate();
    plan.hidden = true;
    replace(message);
  });
  planButton.addEventListener("click", async () => {
    const text = input.value;
    invalidate();
    plan.hidden = true;
    message.className = "control-result";
    replace(message, "Planning…");
    try {
      const result = await post("/api/plan", { input: text });
      if (input.value !== text) return; // edited meanwhile: that text has no plan yet
      planned = text;
      startButton.disabled = false;
      message.className = "control-result good";
      replace(message, "The plan is valid; nothing was changed.");
      plan.hidden = false;
      replace(plan, result.text);
    } catch (error) {
      message.className = "control-result bad";
      replace(message, error.message);
    }
  });
  startButton.addEventListener("click", async () => {
    if (planned === null || input.value !== planned) return invalidate();
    startButton.disabled = true;
    replace(message, "Starting…");
    try {
      const started = await post("/api/start", { input: planned });
      location.hash = runLink(started.execution);
    } catch (error) {
      message.className = "control-result bad";
      replace(message, error.message);
      startButton.disabled = false;
    }
  });

  get("/api/samples").then(({ samples }) => {
    replace(sample, el("option", { value: "" }, "— choose a sample —"),
      samples.map((s) => el("option", { value: s.input }, s.name)));
  });
  return () => {};
}
