// The clerks' editor: save, split, merge, timing from the player, speakers, shortcuts.
(function () {
  "use strict";
  const t = window.sanaripT;
  const root = document.getElementById("editor");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const video = document.getElementById("player");
  const status = document.getElementById("editor-status");
  const persons = document.getElementById("persons");
  const playerFollows = document.getElementById("player-follows");
  const cursorFollows = document.getElementById("cursor-follows");
  let cursor = null;

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

  function rowOf(el) { return el.closest(".seg-row"); }
  function rows() { return Array.from(document.querySelectorAll(".seg-row")); }
  function say(row, text) { row.querySelector(".row-status").textContent = text; }

  function personId(name) {
    if (!name.trim()) return null;
    const opt = Array.from(persons.options).find((o) => o.value === name.trim());
    return opt ? parseInt(opt.dataset.id, 10) : undefined;
  }

  function setCursor(row, seekPlayer) {
    if (!row) return;
    if (cursor) cursor.classList.remove("cursor");
    cursor = row;
    row.classList.add("cursor");
    if (seekPlayer && playerFollows.checked && video) video.currentTime = parseFloat(row.dataset.start);
  }

  function refresh(row, seg) {
    row.dataset.version = seg.version;
    row.dataset.start = seg.start;
    row.dataset.end = seg.end;
    row.querySelector(".text").value = seg.text;
    row.querySelector(".start").value = seg.start.toFixed(2);
    row.querySelector(".end").value = seg.end.toFixed(2);
  }

  async function save(row) {
    const body = { version: parseInt(row.dataset.version, 10), text: row.querySelector(".text").value,
      start: parseFloat(row.querySelector(".start").value), end: parseFloat(row.querySelector(".end").value) };
    const speaker = personId(row.querySelector(".speaker").value);
    if (speaker === undefined) { say(row, t("unknown_speaker")); return; }
    body.speaker = speaker;
    const r = await call("PATCH", `/api/v1/segments/${row.dataset.id}`, body);
    if (r.ok) { refresh(row, r.data); say(row, t("saved")); }
    else if (r.status === 409) say(row, t("conflict", { text: (r.data.current || {}).text || "" }));
    else say(row, r.data.error || t("error", { status: r.status }));
  }

  root.addEventListener("click", async (ev) => {
    const row = rowOf(ev.target);
    if (!row) return;
    if (ev.target.closest(".seek")) { ev.preventDefault(); setCursor(row, true); return; }
    if (ev.target.classList.contains("save")) save(row);
    if (ev.target.classList.contains("set-start") && video) row.querySelector(".start").value = video.currentTime.toFixed(2);
    if (ev.target.classList.contains("set-end") && video) row.querySelector(".end").value = video.currentTime.toFixed(2);
    if (ev.target.classList.contains("split")) {
      const text = row.querySelector(".text");
      const r = await call("POST", `/api/v1/segments/${row.dataset.id}/split`,
        { version: parseInt(row.dataset.version, 10), offset: text.selectionStart });
      if (r.ok) location.reload(); else say(row, r.data.error || t("error", { status: r.status }));
    }
    if (ev.target.classList.contains("merge")) {
      const next = row.nextElementSibling;
      if (!next) { say(row, t("last_segment")); return; }
      const r = await call("POST", `/api/v1/segments/${row.dataset.id}/merge`,
        { version: parseInt(row.dataset.version, 10), next_version: parseInt(next.dataset.version, 10) });
      if (r.ok) location.reload(); else say(row, r.data.error || t("error", { status: r.status }));
    }
  });

  root.addEventListener("focusin", (ev) => { const row = rowOf(ev.target); if (row && row !== cursor) setCursor(row, true); });

  document.addEventListener("keydown", (ev) => {
    const row = cursor || rows()[0];
    if (ev.ctrlKey && ev.key === "Enter" && row) { ev.preventDefault(); save(row); }
    else if (ev.altKey && (ev.key === "k" || ev.key === "K") && video) {
      ev.preventDefault(); if (video.paused) video.play().catch(() => {}); else video.pause();
    } else if (ev.altKey && (ev.key === "j" || ev.key === "J") && video) {
      ev.preventDefault(); video.currentTime = Math.max(0, video.currentTime - 5);
    } else if (ev.altKey && (ev.key === "ArrowDown" || ev.key === "ArrowUp") && row) {
      ev.preventDefault();
      const next = ev.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next) { setCursor(next, true); next.querySelector(".text").focus(); }
    }
  });

  if (video) {
    video.addEventListener("timeupdate", () => {
      if (!cursorFollows.checked) return;
      const t = video.currentTime;
      const row = rows().find((r) => parseFloat(r.dataset.start) <= t && t < parseFloat(r.dataset.end));
      if (row && row !== cursor) { setCursor(row, false); row.scrollIntoView({ block: "nearest" }); }
    });
  }

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
      status.textContent = t("person_added", { name: r.data.name });
      addPerson.reset();
    } else status.textContent = r.data.error || t("error", { status: r.status });
  });

  for (const [id, path] of [["review", "review"], ["publish", "publish"]]) {
    const button = document.getElementById(id);
    if (!button) continue;
    button.addEventListener("click", async () => {
      const r = await call("POST", `/api/v1/sittings/${root.dataset.sitting}/${path}`);
      status.textContent = r.ok ? (r.data.link ? t("published_at", { link: r.data.link }) : t("reviewed")) : (r.data.error || t("error", { status: r.status }));
      if (r.ok) document.getElementById("sitting-status").textContent = path === "publish" ? t("status_published") : t("status_reviewed");
    });
  }
})();
