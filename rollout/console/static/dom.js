// Building the page without markup: every value goes in as a text node (textContent), so a
// name, a reason or a Cause from AWS is shown as the characters it holds, never parsed.

const SVG = "http://www.w3.org/2000/svg";

// el("td", {className: "x", title: "…"}, "text", child, …): an element with its properties
// and children; strings become text nodes, null and false are skipped.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  return fill(node, props, children);
}

// svg("path", {d: "M0,0 L1,1", class: "edge"}, …): an SVG element with its attributes.
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  return append(node, children);
}

function fill(node, props, children) {
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "textContent" || name === "innerHTML") {
      throw new Error("pass text as a child: it becomes a text node");
    } else node[name] = value;
  }
  return append(node, children);
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// -- formatting --------------------------------------------------------------------------

export function percent(weight) {
  const value = weight * 100;
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}

export function clock(seconds) {
  const total = Math.max(Math.floor(seconds), 0);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

export function age(iso, now = Date.now()) {
  const seconds = Math.max((now - Date.parse(iso)) / 1000, 0);
  if (seconds < 90) return `${Math.floor(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

export function utc(iso) {
  return iso ? `${iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", "")} UTC` : "—";
}

export function since(iso, start) {
  return `+${clock((Date.parse(iso) - Date.parse(start)) / 1000)}`;
}

export function weightBar(weight) {
  const bar = el("span", { className: "bar" }, el("span", { className: "fill" }));
  bar.firstChild.style.width = `${Math.max(0, Math.min(weight, 1)) * 100}%`;
  return el("span", { className: "weight" }, bar, el("span", {}, percent(weight)));
}

export function pill(text, tone) {
  return el("span", { className: `pill ${tone || "idle"}` }, text);
}

// A page's problem banner: shown with `text`, hidden without.
export function setBanner(node, text) {
  node.hidden = !text;
  replace(node, text || "");
}

// A page's summary: a <dl id="summary"> of [label, value] pairs, each value findable by
// its label (data-field).
export function summaryList(pairs) {
  return el("dl", { id: "summary" }, pairs.map(([label, value]) =>
    el("div", {}, el("dt", {}, label), el("dd", { dataset: { field: label } }, value))));
}
