// The Proscenium dashboard: draws the server-sent events of `api/events`.
// Plain DOM, no dependencies. Every URL is relative to the page, so the
// dashboard works mounted under any prefix. Text from the cluster (actor
// names, types, errors) only ever goes into text nodes, never into HTML.
"use strict";

(() => {
  const token = new URLSearchParams(location.search).get("token");
  const query = token ? "?token=" + encodeURIComponent(token) : "";
  const HISTORY_MS = 60000;
  const LOG_SHOWN = 200;
  const PALETTE = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568"];
  const SVG = "http://www.w3.org/2000/svg";

  const colors = new Map();
  let history = [];

  function colorOf(name) {
    if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
    return colors.get(name);
  }

  // An element with attributes (`data-*`, `class`, ...) and children.
  function h(tag, attrs, ...children) {
    const el = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) el.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function rate(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 100) return Math.round(value).toLocaleString("en");
    return value.toFixed(1);
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
  }

  function setStatus(state, text) {
    const el = document.getElementById("status");
    el.dataset.state = state;
    el.textContent = text;
  }

  // ----- nodes: the diagram and the table -----

  function drawNodes(view) {
    const tbody = document.querySelector("#nodes tbody");
    tbody.replaceChildren(...view.nodes.map((node) => {
      const answered = node.error === null;
      return h("tr", { "data-node": node.name, "data-answered": answered, title: node.id },
        h("td", {}, h("strong", {}, node.name)),
        h("td", {}, node.addr || "–"),
        h("td", { class: answered ? "state-running" : "", "data-node-state": answered ? "answering" : "no-answer" },
          answered ? "answering" : "no answer: " + node.error),
        h("td", { class: "num" }, answered ? node.actors : "–"),
        h("td", { class: "num", "data-rate": node.rate === null ? "" : node.rate }, rate(node.rate)),
        h("td", { class: "num" }, answered ? node.dead_letters : "–"),
        h("td", {}, node.links.map((link) => link.peer).join(", ") || "–"));
    }));
    drawDiagram(view);
  }

  function drawDiagram(view) {
    const svg = document.getElementById("diagram");
    const n = view.nodes.length;
    const [cx, cy, rx, ry] = [180, 110, n > 1 ? 120 : 0, n > 1 ? 70 : 0];
    const at = new Map(view.nodes.map((node, i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
      return [node.name, [cx + rx * Math.cos(angle), cy + ry * Math.sin(angle)]];
    }));
    const pairs = new Set();
    const lines = [];
    for (const node of view.nodes) {
      for (const link of node.links) {
        const key = [node.name, link.peer].sort().join("\u0000");
        if (pairs.has(key) || !at.has(link.peer)) continue;
        pairs.add(key);
        const [[x1, y1], [x2, y2]] = [at.get(node.name), at.get(link.peer)];
        lines.push(h("svg:line", { x1, y1, x2, y2, "data-link": node.name + "-" + link.peer }));
      }
    }
    const circles = view.nodes.map((node) => {
      const [x, y] = at.get(node.name);
      return h("svg:g", { "data-node": node.name, "data-answered": node.error === null },
        h("svg:circle", { cx: x, cy: y, r: 24 }),
        h("svg:text", { x, y: y + 4 }, node.name),
        h("svg:text", { x, y: y + 38, class: "rate" }, node.error === null ? rate(node.rate) + " msg/s" : "no answer"));
    });
    svg.replaceChildren(...lines, ...circles);
  }

  // ----- supervision trees -----

  function drawTrees(view) {
    const trees = document.getElementById("trees");
    trees.replaceChildren(...view.nodes.map((node) => {
      const title = h("h3", {}, node.name, h("span", { class: "id" }, node.id));
      if (node.error !== null) {
        return h("div", { class: "node-tree", "data-node-tree": node.name, "data-answered": false },
          title, h("p", { class: "error" }, "No snapshot: " + node.error));
      }
      const omitted = node.actors_omitted > 0
        ? h("p", { class: "muted" }, node.actors_omitted + " actors left out to fit one frame")
        : null;
      const rows = node.tree.map((actor) => actorRow(actor));
      const table = h("table", { class: "grid tree" },
        h("thead", {}, h("tr", {},
          h("th", {}, "actor"), h("th", {}, "state"), h("th", { class: "num" }, "mailbox"),
          h("th", { class: "num" }, "msg/s"), h("th", { class: "num" }, "handled"),
          h("th", { class: "num" }, "restarts"), h("th", { class: "num" }, "timers"))),
        h("tbody", {}, rows));
      return h("div", { class: "node-tree", "data-node-tree": node.name, "data-answered": true },
        title, table, omitted);
    }));
  }

  function actorRow(actor) {
    const label = [
      h("span", { class: "indent" }, "\u00a0\u00a0".repeat(actor.depth) + (actor.depth > 0 ? "└ " : "")),
      h("span", { class: "type", title: actor.actor_type }, actor.short_type),
      actor.names.length ? h("span", { class: "names" }, " \"" + actor.names.join("\", \"") + "\"") : null,
      actor.kind === "pool" ? h("span", { class: "badge pool" }, "pool · " + actor.workers + " workers") : null,
      actor.restarts > 0 ? h("span", { class: "badge restarts" }, "restarted") : null,
      h("span", { class: "id" }, actor.id),
    ];
    return h("tr", {
      class: actor.kind,
      "data-actor-id": actor.id,
      "data-actor-type": actor.short_type,
      "data-actor-names": actor.names.join(" "),
      "data-kind": actor.kind,
      "data-depth": actor.depth,
      "data-rate": actor.rate === null ? "" : actor.rate,
    },
    h("td", { class: "actor" }, label),
    h("td", { class: "state-" + actor.state }, actor.state),
    h("td", { class: "num", "data-mailbox": actor.mailbox_len }, actor.mailbox_len),
    h("td", { class: "num" }, rate(actor.rate)),
    h("td", { class: "num" }, actor.messages_handled.toLocaleString("en")),
    h("td", { class: "num" }, actor.restarts),
    h("td", { class: "num" }, actor.timers));
  }

  // ----- the chart -----

  function addPoint(point) {
    history.push(point);
    const horizon = point.at_ms - HISTORY_MS;
    history = history.filter((p) => p.at_ms >= horizon);
  }

  function drawChart() {
    const svg = document.getElementById("chart");
    const [width, height, left, top, bottom] = [640, 180, 44, 10, 20];
    const now = history.length ? history[history.length - 1].at_ms : Date.now();
    const names = [...new Set(history.flatMap((p) => Object.keys(p.rates)))].sort();
    const max = Math.max(1, ...history.flatMap((p) => Object.values(p.rates)));
    const top10 = niceCeiling(max);
    const x = (ms) => left + ((ms - (now - HISTORY_MS)) / HISTORY_MS) * (width - left - 4);
    const y = (v) => top + (1 - v / top10) * (height - top - bottom);
    const parts = [
      h("svg:line", { class: "axis", x1: left, y1: y(0), x2: width - 4, y2: y(0) }),
      h("svg:line", { class: "axis", x1: left, y1: y(top10), x2: width - 4, y2: y(top10) }),
      h("svg:line", { class: "axis", x1: left, y1: y(top10 / 2), x2: width - 4, y2: y(top10 / 2) }),
      h("svg:text", { class: "label", x: left - 4, y: y(top10) + 4, "text-anchor": "end" }, rate(top10)),
      h("svg:text", { class: "label", x: left - 4, y: y(top10 / 2) + 4, "text-anchor": "end" }, rate(top10 / 2)),
      h("svg:text", { class: "label", x: left - 4, y: y(0) + 4, "text-anchor": "end" }, "0"),
      h("svg:text", { class: "label", x: left, y: height - 4 }, "60 s ago"),
      h("svg:text", { class: "label", x: width - 4, y: height - 4, "text-anchor": "end" }, "now"),
    ];
    for (const name of names) {
      const points = history.filter((p) => name in p.rates)
        .map((p) => x(p.at_ms).toFixed(1) + "," + y(p.rates[name]).toFixed(1));
      parts.push(h("svg:polyline", { points: points.join(" "), stroke: colorOf(name), "data-series": name }));
    }
    svg.replaceChildren(...parts);
    document.getElementById("legend").replaceChildren(...names.map((name) => {
      const last = [...history].reverse().find((p) => name in p.rates);
      return h("span", { "data-legend": name },
        h("span", { class: "swatch", "data-color": colorOf(name) }), name + " " + rate(last && last.rates[name]));
    }));
    // Colours through the DOM API: the page's CSP forbids inline style attributes.
    for (const swatch of document.querySelectorAll("#legend .swatch")) swatch.style.background = swatch.dataset.color;
  }

  function niceCeiling(value) {
    const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
    return 10 * magnitude;
  }

  // ----- the log -----

  const KIND_LABEL = { restart: "restart", dead_letter: "dead letter", node: "node" };

  function addLog(entry) {
    const log = document.getElementById("log");
    const item = h("li", { "data-kind": entry.kind, "data-node": entry.node, "data-actor": entry.actor },
      h("time", { datetime: new Date(entry.at_ms).toISOString() }, clock(entry.at_ms)),
      h("span", { class: "kind" }, KIND_LABEL[entry.kind] || entry.kind),
      h("strong", {}, entry.node), " ", entry.text);
    log.prepend(item);
    while (log.children.length > LOG_SHOWN) log.lastElementChild.remove();
    document.getElementById("log-empty").hidden = true;
  }

  // ----- the stream -----

  function onSnapshot(view) {
    document.getElementById("served-by").textContent = view.taken_by;
    const total = document.getElementById("total-rate");
    total.textContent = rate(view.total_rate);
    total.dataset.rate = view.total_rate === null ? "" : view.total_rate;
    view.nodes.forEach((node) => colorOf(node.name));
    drawNodes(view);
    drawTrees(view);
    addPoint({ at_ms: view.at_ms, rates: Object.fromEntries(view.nodes.filter((n) => n.rate !== null).map((n) => [n.name, n.rate])) });
    drawChart();
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
  }

  function connect() {
    const events = new EventSource("api/events" + query);
    events.addEventListener("open", () => setStatus("live", "live"));
    events.addEventListener("error", () => {
      if (events.readyState === EventSource.CLOSED) setStatus("closed", "disconnected: reload to retry");
      else setStatus("connecting", "reconnecting…");
    });
    events.addEventListener("hello", (event) => {
      const hello = JSON.parse(event.data);
      document.getElementById("interval").textContent = (hello.interval_ms / 1000) + " s";
      history = [];
      hello.history.forEach(addPoint);
      document.getElementById("log").replaceChildren();
      hello.log.forEach(addLog);
      drawChart();
    });
    events.addEventListener("snapshot", (event) => onSnapshot(JSON.parse(event.data)));
    for (const kind of ["restart", "dead_letter", "node"]) {
      events.addEventListener(kind, (event) => addLog(JSON.parse(event.data)));
    }
  }

  connect();
})();
