// The console's page: one view at a time, chosen by the address's hash.
//   #/                      the rollouts list (#/?function=orders&outcome=running filters it)
//   #/run/<execution ARN>   one rollout, live
//   #/pipeline/<execution ARN>  one pipeline of waves, live
//   #/start                 the start form
import { get } from "./api.js";
import { el, replace } from "./dom.js";
import { showList } from "./list.js";
import { showPipeline } from "./pipeline.js";
import { showRun } from "./run.js";
import { showStart } from "./start.js";

const view = document.getElementById("view");
let leave = () => {};
let identity = null;

async function route() {
  leave();
  leave = () => {};
  const hash = decodeURIComponent(location.hash.slice(1) || "/");
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  if (path.startsWith("/run/")) leave = showRun(view, path.slice(5), identity);
  else if (path.startsWith("/pipeline/")) leave = showPipeline(view, path.slice(10), identity);
  else if (path === "/start") leave = showStart(view);
  else leave = showList(view, params);
}

async function start() {
  try {
    identity = await get("/api/identity");
    replace(
      document.getElementById("identity"),
      el("span", { title: `state machine ${identity.stateMachine}` }, identity.region),
      " · acting as ",
      el("code", {}, identity.identity),
    );
  } catch (error) {
    replace(view, el("p", { className: "problem" }, error.message));
    return;
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
