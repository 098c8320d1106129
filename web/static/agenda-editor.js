// The editor's agenda panel: a clerk adds, renames, retimes and deletes the sitting's agenda
// items, times taken from the player like a line's; "Save the agenda" sends the whole list to
// the agenda API in one request (validated and stored in one transaction, kept in the history).
// Keys are in keymap.js (agendaAdd, agendaStart, agendaEnd, agendaDelete); texts come from
// <body data-messages> through i18n.js.
(function () {
  "use strict";
  const form = document.getElementById("agenda-form");
  const editor = document.getElementById("editor");
  if (!form || !editor) return;
  const keymap = window.SanaripKeymap;
  const t = (key, values) => window.sanaripT(key, values);
  const video = document.getElementById("player");
  const list = document.getElementById("agenda-items");
  const template = document.getElementById("agenda-row-template");
  const status = document.getElementById("agenda-status");
  const OWN = new Set(["agendaAdd", "agendaStart", "agendaEnd", "agendaDelete", "playPause", "back", "forward", "help"]);
  let current = null; // the item last focused: what the keys act on
  let dirty = false;

  function clock(seconds) {
    const tenths = Math.round(seconds * 10), s = Math.floor(tenths / 10);
    const pad = (n) => String(n).padStart(2, "0");
    return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${tenths % 10}`;
  }

  function rows() { return Array.from(list.querySelectorAll(".agenda-row")); }
  function playerTime() { return video ? video.currentTime : 0; }

  function changed() {
    dirty = true;
    status.textContent = t("agendaUnsaved");
  }

  function setEdge(row, edge, seconds) {
    row.dataset[edge] = seconds === null ? "" : seconds.toFixed(2);
    row.querySelector(`.agenda-${edge}`).textContent = seconds === null ? "…" : clock(seconds);
    changed();
  }

  function add() {
    const start = playerTime();
    const row = template.content.firstElementChild.cloneNode(true);
    const after = rows().filter((r) => parseFloat(r.dataset.start) <= start).pop();
    if (after) after.after(row); else list.prepend(row);
    setEdge(row, "start", start);
    current = row;
    row.querySelector(".agenda-identifier").focus();
  }

  function remove(row) {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    current = next;
    if (next) next.querySelector(".agenda-identifier").focus();
    changed();
  }

  function items() {
    const ordered = rows().map((row, i) => ({ row, i, start: parseFloat(row.dataset.start) }))
      .sort((a, b) => a.start - b.start || a.i - b.i);
    ordered.forEach(({ row }) => list.append(row)); // the list shows the order it is saved in
    return ordered.map(({ row, start }) => {
      const item = { identifier: row.querySelector(".agenda-identifier").value,
        title: row.querySelector(".agenda-title").value, start };
      if (row.dataset.end !== "") item.end = parseFloat(row.dataset.end);
      if (row.dataset.link) item.link = row.dataset.link;
      return item;
    });
  }

  async function save() {
    status.textContent = t("agendaSaving");
    const resp = await fetch(form.dataset.url, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": editor.dataset.csrf },
      body: JSON.stringify(items()),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { /* empty body */ }
    if (resp.ok) { dirty = false; status.textContent = t("agendaSaved"); }
    else status.textContent = data.error || t("error", { status: resp.status });
  }

  const target = () => current && current.isConnected ? current : null;
  keymap.define("agendaAdd", () => { add(); });
  keymap.define("agendaStart", () => { const row = target(); if (!row) return false; setEdge(row, "start", playerTime()); });
  keymap.define("agendaEnd", () => { const row = target(); if (!row) return false; setEdge(row, "end", playerTime()); });
  keymap.define("agendaDelete", () => { const row = target(); if (!row) return false; remove(row); });

  form.addEventListener("submit", (ev) => { ev.preventDefault(); save(); });
  form.addEventListener("input", changed);
  form.addEventListener("focusin", (ev) => { const row = ev.target.closest(".agenda-row"); if (row) current = row; });
  // The editor's own key handler leaves forms alone: here only the agenda's and the player's keys work.
  form.addEventListener("keydown", (ev) => {
    const chord = keymap.chordOf(ev);
    const hit = keymap.bindings.find(([keys]) => keys === chord);
    if (hit && OWN.has(hit[1]) && keymap.handle(ev)) ev.stopPropagation(); // handled once (its row may be gone)
  });
  document.getElementById("agenda-add").addEventListener("click", add);
  list.addEventListener("click", (ev) => {
    const row = ev.target.closest(".agenda-row");
    if (!row) return;
    current = row;
    if (ev.target.closest(".agenda-set-start")) setEdge(row, "start", playerTime());
    else if (ev.target.closest(".agenda-set-end")) setEdge(row, "end", playerTime());
    else if (ev.target.closest(".agenda-delete")) remove(row);
    else if (ev.target.closest(".agenda-seek") && video) video.currentTime = parseFloat(row.dataset.start);
  });
  window.addEventListener("beforeunload", (ev) => {
    if (!dirty) return;
    ev.preventDefault();
    ev.returnValue = "";
  });
})();
