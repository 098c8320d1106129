// The editor's speaker keys: a turn's proposed speaker (from the voice profiles or the chair's
// words) is shown beside it with its score; one key accepts it, one accepts every proposal above
// the score in the bar, one selects the whole turn (Alt+S then gives it one speaker), one says
// "this voice cluster is that person". Every change goes through the clerk API's speaker
// endpoints (one request per action, a revision per line), never by saving lines one by one.
(function () {
  "use strict";
  const ed = window.SanaripEditor;
  const keymap = window.SanaripKeymap;
  if (!ed || !keymap) return;
  const t = window.sanaripT;
  const base = `/api/v1/sittings/${ed.root.dataset.sitting}/speakers`;
  const scoreInput = document.getElementById("accept-score");

  const labelOf = (row) => row.dataset.label || "";
  const proposalOf = (row) => (row.dataset.proposal ? JSON.parse(row.dataset.proposal) : null);

  // The turn of a line: the run of neighbouring lines with the same voice label.
  function turnOf(row) {
    const all = ed.rows(), at = all.indexOf(row), label = labelOf(row);
    if (!label) return [row];
    let a = at, b = at;
    while (a > 0 && labelOf(all[a - 1]) === label) a -= 1;
    while (b < all.length - 1 && labelOf(all[b + 1]) === label) b += 1;
    return all.slice(a, b + 1);
  }

  // A line's proposal is "accepted" once its confirmed speaker is the proposed person.
  function showAccepted(row) {
    const p = proposalOf(row), chip = row.querySelector(".proposal");
    if (chip) chip.classList.toggle("accepted", Boolean(p && String(p.person_id) === row.dataset.speaker));
  }

  function markTurns() {
    let previous = null;
    for (const row of ed.rows()) {
      row.classList.toggle("turn-start", labelOf(row) !== previous);
      previous = labelOf(row);
      showAccepted(row);
    }
  }

  // The speaker endpoints answer the changed lines; only their speaker and version change here,
  // so a line's unsaved text stays as it is.
  function applied(segments) {
    for (const seg of segments) {
      const row = document.getElementById(`row-${seg.id}`);
      if (!row) continue;
      row.dataset.version = seg.version;
      row.dataset.speaker = seg.speaker_id || "";
      row.querySelector(".speaker-name").textContent = seg.speaker || "";
      ed.say(row, t("saved"));
      showAccepted(row);
    }
  }

  async function send(action, body, where) {
    const r = await ed.call("POST", `${base}/${action}`, body);
    const text = r.ok ? t("attributed", { num: (r.data.changed || []).length }) : (r.data.error || t("error", { status: r.status }));
    if (r.ok) applied(r.data.segments || []);
    else if (where) ed.say(where, text);
    ed.status(text);
    return r.ok;
  }

  // Alt+A: the selected lines' proposals, or (one line) its whole turn's.
  function acceptSelected() {
    const chosen = ed.selection();
    if (!chosen.length) return false;
    const lines = (chosen.length > 1 ? chosen : turnOf(chosen[0])).filter((r) => proposalOf(r));
    if (!lines.length) { ed.say(chosen[0], t("noProposal")); return undefined; }
    send("accept", { segments: lines.map((r) => parseInt(r.dataset.id, 10)) }, chosen[0]);
    return undefined;
  }

  function acceptAbove() {
    const score = parseFloat(scoreInput.value);
    if (!(score >= 0 && score <= 1)) { ed.status(t("badScore")); scoreInput.focus(); return undefined; }
    send("accept", { min_score: score }, null);
    return undefined;
  }

  function selectTurn() {
    const row = ed.cursor();
    if (!row) return false;
    const turn = turnOf(row);
    ed.select(turn[0], turn[turn.length - 1]);
    return undefined;
  }

  function relabel() {
    const row = ed.cursor();
    if (!row) return false;
    if (!labelOf(row)) { ed.say(row, t("noLabel")); return undefined; }
    ed.select(row);
    ed.openPicker((id) => (id ? send("relabel", { label: labelOf(row), person: parseInt(id, 10) }, row) : undefined));
    return undefined;
  }

  // Alt+S on several lines (or a whole turn) gives them one speaker in one request; a line
  // with unsaved text is saved the usual way, text and speaker together.
  ed.onSpeaker = (id, chosen) => {
    if (!id || chosen.some((r) => r.classList.contains("dirty"))) return false;
    return send("assign", { segments: chosen.map((r) => parseInt(r.dataset.id, 10)), person: parseInt(id, 10) }, chosen[0]);
  };

  keymap.bind("Alt+A", "acceptProposal");
  keymap.bind("Alt+Shift+A", "acceptAbove");
  keymap.bind("Alt+T", "selectTurn");
  keymap.bind("Alt+R", "relabel");
  keymap.define("acceptProposal", acceptSelected);
  keymap.define("acceptAbove", acceptAbove);
  keymap.define("selectTurn", selectTurn);
  keymap.define("relabel", relabel);
  document.getElementById("accept-above").addEventListener("click", acceptAbove);
  markTurns();
})();
