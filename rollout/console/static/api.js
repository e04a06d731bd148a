// Talking to the console's server. The token travels in its HttpOnly cookie, set by the URL
// `rollout console` printed; state-changing requests are JSON from this origin (the server
// checks both).

export class ApiError extends Error {
  constructor(message, status, exitCode) {
    super(message);
    this.status = status;
    this.exitCode = exitCode;
  }
}

async function answer(response) {
  const type = response.headers.get("Content-Type") || "";
  const body = type.startsWith("application/json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = typeof body === "string" ? body.trim() : body.message;
    throw new ApiError(message || response.statusText, response.status, body.exitCode);
  }
  return body;
}

export async function get(path) {
  return answer(await fetch(path, { credentials: "same-origin" }));
}

export async function post(path, body) {
  return answer(
    await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

// A topic's snapshots as the server sends them, while the page is visible: a hidden page
// closes its stream, so the console reads nothing for it meanwhile. Returns a closer.
export function follow(query, onSnapshot, onTrouble) {
  let source = null;
  const open = () => {
    if (source || document.hidden) return;
    source = new EventSource(`/api/stream?${query}`);
    source.onmessage = (event) => {
      onTrouble(null);
      onSnapshot(JSON.parse(event.data));
    };
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        onTrouble("The console is not answering (stopped, or restarted with a new token): " +
          "open the URL `rollout console` printed.");
      } else {
        onTrouble("Connection lost; reconnecting…");
      }
    };
  };
  const close = () => {
    if (source) source.close();
    source = null;
  };
  const onVisibility = () => (document.hidden ? close() : open());
  document.addEventListener("visibilitychange", onVisibility);
  open();
  return () => {
    document.removeEventListener("visibilitychange", onVisibility);
    close();
  };
}
