// connect-hooks inspector: the receiver's requests, live, from /events (server-sent events).
// Every value from a request is put in the page as text (never as HTML): bodies and headers are untrusted.
"use strict";

const state = { records: new Map(), selected: null, query: "", config: {} };
const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function statusClass(status) {
  if (status === null || status === undefined) return "bad";
  if (status === 200) return "ok";
  return status >= 500 ? "warn" : "bad";
}

const SIGNATURE = {
  valid: "valid", mismatch: "MISMATCH", malformed: "malformed", missing: "missing",
  unchecked: "not checked", "not-read": "not read", skipped: "not checked",
};

function signatureText(r) {
  const text = SIGNATURE[r.signature] || r.signature;
  return r.signature === "valid" && r.algorithm ? `${text} (${r.algorithm})` : text;
}

function signatureClass(r) {
  if (r.signature === "valid") return "ok";
  return ["unchecked", "not-read", "skipped"].includes(r.signature) ? "muted" : "bad";
}

// listen --require-auth adds {"type", "ok", "reason"}: the credentials' verdict, never the credentials.
function authText(r) {
  if (!r.auth) return null;
  return `${r.auth.ok ? "ok" : "REFUSED"} (${r.auth.type})`;
}

function clock(iso) {
  const date = new Date(iso);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function what(r) {
  if (r.method !== "POST") return `${r.method} ${r.path}`;
  return r.label || "-";
}

function haystack(r) {
  if (r._hay === undefined) {
    const parts = [r.body || r.body_base64 || "", r.gtrid || "", r.path, r.label || ""];
    for (const [name, value] of Object.entries(r.headers || {})) parts.push(`${name}: ${value}`);
    r._hay = parts.join("\n").toLowerCase();
  }
  return r._hay;
}

function matches(r) {
  return !state.query || haystack(r).includes(state.query);
}

// -- the list ------------------------------------------------------------------------------------

function row(r) {
  const status = el("td", { class: "status " + statusClass(r.status) }, r.status === null ? "no answer" : String(r.status));
  if (r.forward) {
    const hop = r.forward.status === null ? "app: no answer" : `app ${r.forward.status}`;
    status.append(el("span", { class: "hop" }, "⇄ " + hop));
  }
  const verdict = el("td", { class: "sig " + signatureClass(r) }, r.method === "POST" ? signatureText(r) : "");
  const auth = authText(r);
  if (auth) verdict.append(el("span", { class: "hop" }, " auth " + auth));
  const tr = el(
    "tr",
    { "data-id": String(r.id), tabIndex: -1 },
    el("td", { class: "time", title: r.time }, clock(r.time)),
    el("td", { class: "gtrid", title: r.gtrid || "" }, (r.gtrid || "—").slice(0, 8)),
    el("td", { class: "attempt" }, r.attempt ? "#" + r.attempt : ""),
    el("td", { class: "what", title: what(r) }, what(r)),
    verdict,
    status,
  );
  tr.addEventListener("click", () => select(r.id));
  return tr;
}

function renderList() {
  const rows = $("rows");
  rows.replaceChildren();
  const ids = Array.from(state.records.keys()).reverse();
  for (const id of ids) {
    const r = state.records.get(id);
    if (matches(r)) rows.append(row(r));
  }
  markSelected();
  updateEmpty();
}

function updateEmpty() {
  const empty = $("empty");
  const shown = $("rows").children.length;
  empty.hidden = shown > 0;
  if (!shown) {
    empty.textContent = state.records.size
      ? `No request matches “${state.query}”.`
      : "Waiting for requests… send one: connect-hooks send receipt/sms/delivered " + (state.config.receiver || "URL") + "/hooks";
  }
}

function markSelected() {
  for (const tr of $("rows").children) {
    const on = Number(tr.dataset.id) === state.selected;
    tr.classList.toggle("selected", on);
    tr.setAttribute("aria-selected", on ? "true" : "false");
  }
}

function add(r) {
  state.records.set(r.id, r);
  if (matches(r)) $("rows").prepend(row(r));
  markSelected();
  updateEmpty();
  const current = state.records.get(state.selected);
  const shown = $("timeline");
  if (shown && current && current.gtrid && current.gtrid === r.gtrid) shown.replaceWith(timeline(current)); // it grew
}

function move(step) {
  const rows = Array.from($("rows").children);
  if (!rows.length) return;
  let index = rows.findIndex((tr) => Number(tr.dataset.id) === state.selected);
  index = index < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, index + step));
  select(Number(rows[index].dataset.id));
}

function select(id) {
  state.selected = id;
  markSelected();
  const tr = $("rows").querySelector(`tr[data-id="${id}"]`);
  if (tr) tr.scrollIntoView({ block: "nearest" });
  renderDetail(state.records.get(id));
}

// -- the detail pane ---------------------------------------------------------------------------

function section(title, ...content) {
  return [el("h3", {}, title), ...content];
}

function keyValues(object) {
  const table = el("table", { class: "kv" });
  for (const [key, value] of Object.entries(object)) {
    table.append(el("tr", {}, el("td", {}, key), el("td", {}, String(value))));
  }
  return table;
}

function pretty(r) {
  if (r.body === null || r.body === undefined) return null;
  try {
    return JSON.stringify(JSON.parse(r.body), null, 2);
  } catch (error) {
    return null;
  }
}

function timeline(r) {
  const same = Array.from(state.records.values()).filter((x) => x.method === "POST" && r.gtrid && x.gtrid === r.gtrid);
  if (!same.length) return null;
  const first = new Date(same[0].time).getTime();
  const list = el("ol", { class: "timeline", id: "timeline" });
  for (const x of same) {
    const answer = x.status === null ? "no answer" : String(x.status);
    const item = el(
      "li",
      { class: statusClass(x.status) + (x.id === r.id ? " current" : ""), title: x.reason },
      `#${x.attempt ?? "-"}  ${clock(x.time)}  ${since(new Date(x.time).getTime() - first)}  → `,
      el("span", { class: "status " + statusClass(x.status) }, answer),
    );
    item.addEventListener("click", () => select(x.id));
    list.append(item);
  }
  return list;
}

function since(ms) {
  if (ms < 1000) return `+${Math.round(ms)} ms`;
  return ms < 120000 ? `+${(ms / 1000).toFixed(1)} s` : `+${(ms / 60000).toFixed(1)} min`;
}

function curl(r) {
  const quote = (text) => "'" + String(text).replace(/'/g, "'\\''") + "'";
  const skip = new Set(["host", "content-length", "connection", "accept-encoding"]);
  const lines = [`curl -X ${r.method} ${quote((state.config.receiver || "") + r.path)}`];
  for (const [name, value] of Object.entries(r.headers || {})) {
    if (!skip.has(name)) lines.push(`  -H ${quote(name + ": " + value)}`);
  }
  if (r.body !== null && r.body !== undefined && r.body !== "") lines.push(`  --data-binary ${quote(r.body)}`);
  return lines.join(" \\\n");
}

async function replay(r, to, result) {
  result.textContent = "sending…";
  try {
    const answer = await fetch(`requests/${r.id}/replay`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-connect-hooks-inspector": "1" },
      body: JSON.stringify({ to }),
    });
    if (!answer.ok) {
      result.textContent = `replay refused: ${answer.status} ${await answer.text()}`;
      return;
    }
    const hop = await answer.json();
    const target = to === "app" ? "the app" : "the receiver";
    result.textContent =
      hop.status === null ? `${target}: ${hop.error}` : `${target} answered ${hop.status} in ${Math.round(hop.elapsed_ms)} ms`;
    result.className = "result " + statusClass(hop.status);
  } catch (error) {
    result.textContent = `replay failed: ${error}`;
  }
}

function renderDetail(r) {
  const pane = $("detail");
  if (!r) {
    pane.replaceChildren(el("p", { class: "hint" }, "Select a request."));
    return;
  }
  const nodes = [];
  const answer = r.status === null ? "no answer" : String(r.status);
  nodes.push(
    el("h2", {}, `${r.method} ${r.path}`, el("span", { class: "status " + statusClass(r.status) }, "→ " + answer), el("span", { class: "muted" }, what(r))),
    el("div", { class: "sub" }, [r.time, `gtrid ${r.gtrid || "—"}`, `attempt ${r.attempt ?? "—"}`, `${r.size} bytes`].join("  ·  ")),
  );
  if (r.method === "POST") {
    const ok = r.signature === "valid";
    nodes.push(
      el(
        "div",
        { class: "verdict " + (ok ? "ok" : signatureClass(r)), id: "verdict" },
        el("b", {}, "signature " + signatureText(r)),
        r.reason,
        authText(r) ? el("div", { class: r.auth.ok ? "ok" : "bad" }, `auth ${authText(r)}: ${r.auth.reason}`) : null,
      ),
    );
    const result = el("span", { class: "result", id: "action-result" });
    const actions = el("div", { class: "actions" });
    actions.append(el("button", { id: "replay-receiver", onclick: () => replay(r, "receiver", result) }, "Replay to the receiver"));
    if (state.config.forward_to) {
      actions.append(el("button", { id: "replay-app", onclick: () => replay(r, "app", result) }, "Replay to the app"));
    }
    actions.append(
      el("button", {
        id: "copy-curl",
        onclick: () => {
          const text = curl(r);
          const area = el("textarea", { class: "curl", readOnly: true, value: text, id: "curl" });
          pane.querySelector("textarea.curl")?.remove();
          actions.after(area);
          area.select();
          const done = () => (result.textContent = "curl command copied");
          if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => (result.textContent = "select and copy the command below"));
        },
      }, "Copy as curl"),
      result,
    );
    nodes.push(actions);
  } else {
    nodes.push(el("div", { class: "verdict" }, r.reason));
  }
  const steps = timeline(r);
  if (steps) nodes.push(...section("Every attempt of this gtrid", steps));
  if (r.forward) {
    const hop = r.forward;
    nodes.push(
      ...section(
        "Forward hop",
        keyValues({
          to: hop.url,
          "app answered": hop.status === null ? "no answer" : hop.status,
          ...(hop.error ? { why: hop.error } : {}),
          "in": `${hop.elapsed_ms} ms`,
        }),
        hop.body ? el("pre", {}, hop.body) : null,
      ),
    );
  }
  const formatted = pretty(r);
  if (formatted !== null) nodes.push(...section("JSON", el("pre", { id: "pretty" }, formatted)));
  nodes.push(...section("Headers", keyValues(r.headers || {})));
  if (r.body_base64) nodes.push(...section("Raw body (not UTF-8, base64)", el("pre", { id: "raw" }, r.body_base64)));
  else nodes.push(...section("Raw body (exactly as received)", el("pre", { id: "raw" }, r.body || "")));
  pane.replaceChildren(...nodes);
}

// -- wiring --------------------------------------------------------------------------------------

function connect() {
  const source = new EventSource("events");
  source.addEventListener("hello", (event) => {
    const config = JSON.parse(event.data);
    if (state.config.run && state.config.run !== config.run) {
      state.records.clear(); // listen was restarted: its requests start over
      state.selected = null;
      renderList();
      renderDetail(null);
    }
    state.config = config;
    const where = [`receiver ${state.config.receiver}`];
    if (state.config.forward_to) where.push(`relaying to ${state.config.forward_to}`);
    where.push(state.config.verifies ? "signatures verified" : "signatures not checked (no hub secret)");
    $("where").textContent = where.join("   ·   ");
    $("live").textContent = "live";
    $("live").className = "live on";
    updateEmpty();
  });
  source.onmessage = (event) => add(JSON.parse(event.data));
  source.onerror = () => {
    $("live").textContent = "offline";
    $("live").className = "live off";
  };
}

document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  if (event.key === "/" && !typing) {
    event.preventDefault();
    $("search").focus();
    return;
  }
  if (typing && event.key === "Escape") {
    event.target.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "ArrowDown" || event.key === "j") {
    event.preventDefault();
    move(1);
  } else if (event.key === "ArrowUp" || event.key === "k") {
    event.preventDefault();
    move(-1);
  }
});

$("search").addEventListener("input", (event) => {
  state.query = event.target.value.trim().toLowerCase();
  renderList();
});

updateEmpty();
connect();
