// The clerks' editor, keyboard first: lines are edited in place, times are clock values set
// from the player, the speaker is chosen by typing. Every key is in keymap.js (one table).
(function () {
  "use strict";
  const root = document.getElementById("editor");
  if (!root) return;
  const keymap = window.SanaripKeymap;
  const csrf = root.dataset.csrf;
  const messages = JSON.parse(root.dataset.messages);
  const statuses = JSON.parse(root.dataset.statuses);
  const video = document.getElementById("player");
  const status = document.getElementById("editor-status");
  const persons = document.getElementById("persons");
  const playerFollows = document.getElementById("player-follows");
  const cursorFollows = document.getElementById("cursor-follows");
  const picker = document.getElementById("speaker-picker");
  const pickerInput = document.getElementById("speaker-input");
  const pickerList = document.getElementById("speaker-options");
  let cursor = null;
  let anchor = null; // first line of a multi-line selection (Alt+Shift+↓/↑), or null
  let pickerRows = [];
  let pickerChoice = null; // a module's own use of the picker (editor-speakers.js), or null

  function t(key, ...values) {
    let i = 0;
    return (messages[key] || key).replace(/%s/g, () => String(values[i++] ?? ""));
  }

  if (video && window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls();
    hls.loadSource(video.dataset.src);
    hls.attachMedia(video);
  } else if (video && video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = video.dataset.src;
  }

  async function call(method, url, body) {
    const resp = await fetch(url, {
      method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { /* empty body */ }
    return { ok: resp.ok, status: resp.status, data };
  }

  // --- lines -------------------------------------------------------------------------------
  function rowOf(el) { return el && el.closest ? el.closest(".seg-row") : null; }
  function rows() { return Array.from(document.querySelectorAll(".seg-row")); }
  function textOf(row) { return row.querySelector(".text"); }
  function say(row, text) { row.querySelector(".row-status").textContent = text; }

  function clock(seconds) {
    const tenths = Math.round(seconds * 10), s = Math.floor(tenths / 10);
    const pad = (n) => String(n).padStart(2, "0");
    return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${tenths % 10}`;
  }

  function personName(id) {
    const opt = Array.from(persons.options).find((o) => o.dataset.id === String(id));
    return opt ? opt.value : "";
  }

  function markDirty(row, dirty) {
    row.classList.toggle("dirty", dirty);
    if (dirty) say(row, t("unsaved"));
  }

  function selection() {
    if (!cursor) return [];
    if (!anchor) return [cursor];
    const all = rows(), a = all.indexOf(anchor), b = all.indexOf(cursor);
    return all.slice(Math.min(a, b), Math.max(a, b) + 1);
  }

  function showSelection() {
    const chosen = new Set(selection());
    for (const row of rows()) row.classList.toggle("selected", chosen.size > 1 && chosen.has(row));
  }

  function setCursor(row, seekPlayer, extend) {
    if (!row) return;
    if (!extend) anchor = null;
    else if (!anchor) anchor = cursor;
    if (cursor) cursor.classList.remove("cursor");
    cursor = row;
    row.classList.add("cursor");
    showSelection();
    if (seekPlayer && playerFollows.checked && video) video.currentTime = parseFloat(row.dataset.start);
  }

  function moveTo(row, extend) {
    if (!row) return;
    setCursor(row, true, extend);
    textOf(row).focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function refresh(row, seg) {
    row.dataset.version = seg.version;
    row.dataset.start = seg.start;
    row.dataset.end = seg.end;
    row.dataset.speaker = seg.speaker_id || "";
    row.querySelector(".clock.start").textContent = clock(seg.start);
    row.querySelector(".clock.end").textContent = clock(seg.end);
    row.querySelector(".speaker-name").textContent = seg.speaker || t("noSpeaker");
    const text = textOf(row);
    if (text.textContent !== seg.text) text.textContent = seg.text;
    row.dataset.saved = seg.text;
    const flag = row.querySelector(".flag.uncertain");
    if (flag && !seg.unreliable) flag.remove();
    markDirty(row, false);
  }

  function newRow(seg, after) {
    const row = after.cloneNode(true);
    row.id = `row-${seg.id}`;
    row.dataset.id = seg.id;
    row.classList.remove("cursor", "selected", "dirty");
    textOf(row).id = `text-${seg.id}`;
    after.after(row);
    refresh(row, seg);
    say(row, "");
    return row;
  }

  async function save(row) {
    const speaker = row.dataset.speaker ? parseInt(row.dataset.speaker, 10) : null;
    const body = { version: parseInt(row.dataset.version, 10), text: textOf(row).textContent,
      start: parseFloat(row.dataset.start), end: parseFloat(row.dataset.end), speaker };
    say(row, t("saving"));
    const r = await call("PATCH", `/api/v1/segments/${row.dataset.id}`, body);
    if (r.ok) { refresh(row, r.data); say(row, t("saved")); }
    else if (r.status === 409) say(row, t("conflict", (r.data.current || {}).text || ""));
    else say(row, r.data.error || t("error", r.status));
    return r.ok;
  }

  async function saveAll(list) {
    for (const row of list) await save(row); // one after another: each save is its own revision
  }

  function caretOffset(el) {
    const sel = window.getSelection();
    if (!sel.rangeCount || !el.contains(sel.focusNode)) return 0;
    const range = document.createRange();
    range.selectNodeContents(el);
    range.setEnd(sel.focusNode, sel.focusOffset);
    return range.toString().length;
  }

  async function split(row) {
    if (row.classList.contains("dirty")) { say(row, t("saveFirst")); return; }
    const r = await call("POST", `/api/v1/segments/${row.dataset.id}/split`,
      { version: parseInt(row.dataset.version, 10), offset: caretOffset(textOf(row)) });
    if (!r.ok) { say(row, r.data.error || t("error", r.status)); return; }
    refresh(row, r.data.first);
    moveTo(newRow(r.data.second, row), false);
  }

  async function merge(row) {
    const next = row.nextElementSibling;
    if (!next || !next.classList.contains("seg-row")) { say(row, t("lastLine")); return; }
    if (row.classList.contains("dirty") || next.classList.contains("dirty")) { say(row, t("saveFirst")); return; }
    const r = await call("POST", `/api/v1/segments/${row.dataset.id}/merge`,
      { version: parseInt(row.dataset.version, 10), next_version: parseInt(next.dataset.version, 10) });
    if (!r.ok) { say(row, r.data.error || t("error", r.status)); return; }
    next.remove();
    refresh(row, r.data);
    say(row, t("saved"));
  }

  function setTime(row, edge) {
    if (!video) return;
    row.dataset[edge] = video.currentTime.toFixed(2);
    row.querySelector(`.clock.${edge}`).textContent = clock(video.currentTime);
    markDirty(row, true);
  }

  // --- speaker picker (autocomplete over the persons) ----------------------------------------
  function matches(query) {
    const q = query.trim().toLocaleLowerCase();
    const all = Array.from(persons.options).map((o) => ({ id: o.dataset.id, name: o.value }));
    if (!q) return all;
    const starts = all.filter((p) => p.name.toLocaleLowerCase().split(/\s+/).some((w) => w.startsWith(q)));
    return starts.concat(all.filter((p) => !starts.includes(p) && p.name.toLocaleLowerCase().includes(q)));
  }

  function renderOptions() {
    pickerList.replaceChildren();
    const found = matches(pickerInput.value);
    found.forEach((p, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `speaker-option-${p.id}`;
      li.dataset.id = p.id;
      li.textContent = p.name;
      li.setAttribute("aria-selected", i === 0 ? "true" : "false");
      pickerList.append(li);
    });
    if (!found.length && pickerInput.value.trim()) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = t("noMatch");
      pickerList.append(li);
    }
    activate(pickerList.querySelector("[role=option]"));
  }

  function activate(li) {
    for (const o of pickerList.querySelectorAll("[role=option]")) o.setAttribute("aria-selected", o === li ? "true" : "false");
    if (li) { pickerInput.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
    else pickerInput.removeAttribute("aria-activedescendant");
  }

  function openPicker(onChosen) {
    pickerChoice = onChosen || null;
    pickerRows = selection();
    if (!pickerRows.length) return;
    cursor.querySelector(".meta").after(picker);
    picker.hidden = false;
    pickerInput.value = "";
    renderOptions();
    pickerInput.focus();
  }

  function closePicker() {
    picker.hidden = true;
    if (cursor) textOf(cursor).focus();
  }

  async function choose(li) {
    if (pickerInput.value.trim() && !li) return; // typed a name nobody has: stay open
    const id = li ? li.dataset.id : "";
    const chosen = pickerRows;
    closePicker();
    if (pickerChoice && (await pickerChoice(id, chosen)) !== false) return;
    for (const row of chosen) {
      row.dataset.speaker = id;
      row.querySelector(".speaker-name").textContent = id ? personName(id) : t("noSpeaker");
    }
    await saveAll(chosen);
  }

  pickerInput.addEventListener("input", renderOptions);
  pickerInput.addEventListener("keydown", (ev) => {
    const options = Array.from(pickerList.querySelectorAll("[role=option]"));
    const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const next = options[Math.min(options.length - 1, Math.max(0, at + (ev.key === "ArrowDown" ? 1 : -1)))];
      activate(next);
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      choose(options[at] || null);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      closePicker();
    }
    ev.stopPropagation(); // the picker's keys are its own
  });
  pickerList.addEventListener("click", (ev) => { const li = ev.target.closest("[role=option]"); if (li) choose(li); });

  // --- the keymap's actions ----------------------------------------------------------------
  const here = () => cursor || rows()[0];
  const define = (name, fn) => keymap.define(name, fn);
  define("playPause", () => { if (!video) return false; if (video.paused) video.play().catch(() => {}); else video.pause(); });
  define("back", () => { if (!video) return false; video.currentTime = Math.max(0, video.currentTime - 5); });
  define("forward", () => { if (!video) return false; video.currentTime += 5; });
  define("playLine", () => {
    const row = here(); if (!row || !video) return false;
    video.currentTime = parseFloat(row.dataset.start); video.play().catch(() => {});
  });
  define("nextLine", () => { const row = here(); if (!row) return false; moveTo(cursor ? row.nextElementSibling : row, false); });
  define("previousLine", () => { const row = here(); if (!row) return false; moveTo(row.previousElementSibling, false); });
  define("extendDown", () => { if (!cursor) return false; moveTo(cursor.nextElementSibling, true); });
  define("extendUp", () => { if (!cursor) return false; moveTo(cursor.previousElementSibling, true); });
  define("save", () => {
    const list = selection();
    if (!list.length) return false;
    saveAll(list.length > 1 ? list : list.filter((r) => r.classList.contains("dirty") || r === cursor));
  });
  define("speaker", () => { if (!here()) return false; if (!cursor) setCursor(here(), false, false); openPicker(window.SanaripEditor.onSpeaker); });
  define("setStart", () => { if (!cursor) return false; setTime(cursor, "start"); });
  define("setEnd", () => { if (!cursor) return false; setTime(cursor, "end"); });
  define("split", () => { if (!cursor) return false; split(cursor); });
  define("merge", () => { if (!cursor) return false; merge(cursor); });
  define("cancel", () => {
    if (!cursor || !cursor.classList.contains("dirty")) { anchor = null; showSelection(); return false; }
    textOf(cursor).textContent = cursor.dataset.saved ?? textOf(cursor).textContent;
    markDirty(cursor, false);
    say(cursor, "");
  });
  define("help", () => { showHelp(); });

  const help = document.getElementById("keymap-help");
  function label(keys) { return keys.replace("Control", "Ctrl").replace("ArrowDown", "↓").replace("ArrowUp", "↑"); }
  function showHelp() {
    const list = document.getElementById("keymap-list");
    list.replaceChildren();
    for (const [action, keys] of keymap.byAction()) {
      const dt = document.createElement("dt");
      dt.textContent = keys.map(label).join(" / ");
      const dd = document.createElement("dd");
      dd.textContent = t(`key.${action}`);
      list.append(dt, dd);
    }
    if (!help.open) help.showModal();
  }
  document.getElementById("show-keys").addEventListener("click", showHelp);

  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest && ev.target.closest("form, dialog, .picker") && ev.key !== "F1") return;
    if (ev.target.closest && ev.target.closest("button, a, input") && ev.key === "Enter") return;
    keymap.handle(ev);
  });

  // --- pointer and typing --------------------------------------------------------------------
  root.addEventListener("click", (ev) => {
    const row = rowOf(ev.target);
    if (!row) return;
    if (ev.target.closest(".seek")) { setCursor(row, false, false); if (video) video.currentTime = parseFloat(row.dataset.start); }
    if (ev.target.closest("button.save")) save(row);
  });
  root.addEventListener("focusin", (ev) => {
    const row = rowOf(ev.target);
    if (row && row !== cursor) setCursor(row, true, false);
    if (row && ev.target.classList.contains("text") && row.dataset.saved === undefined && !row.classList.contains("dirty")) {
      row.dataset.saved = ev.target.textContent;
    }
  });
  root.addEventListener("input", (ev) => { // typing in the speaker picker (placed inside a line) is no edit of it
    const row = rowOf(ev.target); if (row && !ev.target.closest(".picker")) markDirty(row, true);
  });
  // A pasted text arrives as plain text wherever contenteditable="plaintext-only" is unknown.
  root.addEventListener("paste", (ev) => {
    if (!ev.target.closest(".text")) return;
    ev.preventDefault();
    document.execCommand("insertText", false, ev.clipboardData.getData("text/plain"));
  });

  window.addEventListener("beforeunload", (ev) => {
    if (!document.querySelector(".seg-row.dirty")) return;
    ev.preventDefault();
    ev.returnValue = ""; // older browsers ask only when this is set
  });

  if (video) {
    video.addEventListener("timeupdate", () => {
      if (!cursorFollows.checked) return;
      const now = video.currentTime;
      const row = rows().find((r) => parseFloat(r.dataset.start) <= now && now < parseFloat(r.dataset.end));
      if (row && row !== cursor) { setCursor(row, false, false); row.scrollIntoView({ block: "nearest" }); }
    });
  }

  // What other editor modules (editor-speakers.js) build on: the lines, the selection, the picker.
  window.SanaripEditor = {
    root, call, rows, selection, say, personName, openPicker,
    cursor: () => cursor || null,
    select(first, last) { setCursor(first, false, false); if (last && last !== first) { anchor = first; setCursor(last, false, true); } textOf(last || first).focus(); },
    status(text) { status.textContent = text; },
    onSpeaker: null, // set by a module: (personId, rows) → a promise; false falls back to saving each line
  };

  // --- persons, review, publish ------------------------------------------------------------
  const addPerson = document.getElementById("add-person");
  addPerson.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = document.getElementById("person-name").value;
    const r = await call("POST", "/api/v1/persons", { name, faction: document.getElementById("person-faction").value });
    if (r.ok) {
      const opt = document.createElement("option");
      opt.value = r.data.name;
      opt.dataset.id = r.data.id;
      persons.append(opt);
      status.textContent = t("personAdded", r.data.name);
      addPerson.reset();
    } else status.textContent = r.data.error || t("error", r.status);
  });

  const sittingStatus = document.getElementById("sitting-status");
  document.getElementById("review").addEventListener("click", async () => {
    const r = await call("POST", `/api/v1/sittings/${root.dataset.sitting}/review`);
    status.textContent = r.ok ? t("markedReviewed") : (r.data.error || t("error", r.status));
    if (r.ok) sittingStatus.textContent = statuses.reviewed;
  });

  const publishButton = document.getElementById("publish");
  const publishDialog = document.getElementById("publish-dialog");
  if (publishButton) {
    publishButton.addEventListener("click", async () => {
      const resp = await fetch(root.dataset.changes, { headers: { Accept: "text/html" } });
      if (!resp.ok) { status.textContent = t("error", resp.status); return; }
      document.getElementById("publish-changes").innerHTML = await resp.text(); // rendered and escaped by the server
      publishDialog.returnValue = "";
      publishDialog.showModal();
    });
    publishDialog.addEventListener("close", async () => {
      if (publishDialog.returnValue !== "publish") return;
      const r = await call("POST", `/api/v1/sittings/${root.dataset.sitting}/publish`);
      if (!r.ok) { status.textContent = r.data.error || t("error", r.status); return; }
      sittingStatus.textContent = statuses.published;
      const when = new Date(r.data.published_at).toLocaleString(document.documentElement.lang);
      document.getElementById("publication-info").textContent = t("publishedInfo", r.data.number, when);
      status.textContent = t("publishedAs", r.data.number, r.data.link);
    });
  }
})();
