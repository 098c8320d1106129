// Live page: the multivariant HLS stream (video + transcript subtitle rendition) and the
// live-state file. The transcript panel is built from the subtitle track's cues, so a line is
// on the player's own timeline and the highlighted line is the one being heard; the words not
// yet committed come from the live-state file (conditional GETs) while the player is at the live
// edge. A viewer fetches static files only.
(function () {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;
  const t = window.sanaripT;
  const video = document.getElementById("player");
  const list = document.getElementById("transcript");
  const follow = document.getElementById("follow");
  const ended = document.getElementById("ended");
  const toLive = document.getElementById("to-live");
  // Seconds behind the live edge (the end of the newest listed segment) hls.js holds: two 2 s
  // segments. The edge itself is ~4 s behind the room (the source's own segment, the keyframe
  // that closes ours, the playlist reload), so the picture is ~8 s behind; at 6 s (three
  // segments) it was 11 s. Less than two segments leaves no buffer when a reload is late.
  const SYNC = 4;
  const EDGE = SYNC + 6;  // within this of the edge the player counts as live
  const STATE_POLL = 500;  // ms between conditional GETs of the live-state file ("no-cache": each one revalidates)
  let hls = null;
  let track = null;
  let current = null;
  const lines = new Map();  // cue id → li
  const proposed = new Map();  // cue (segment) id → the live-state file's speaker proposal
  // The words heard but not yet committed to a line: shown last, greyed, replaced as they firm up.
  const partial = document.createElement("li");
  partial.className = "seg partial";
  partial.setAttribute("aria-hidden", "true");  // screen readers announce committed lines only

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    const p = (n) => String(n).padStart(2, "0");
    return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
  }

  // The time a line shows: the wall clock of that moment (program date-time), else player time.
  function label(t) {
    if (hls && hls.playingDate && !isNaN(video.currentTime)) {
      const at = new Date(hls.playingDate.getTime() + (t - video.currentTime) * 1000);
      return at.toLocaleTimeString(document.documentElement.lang || undefined, { hour12: false });
    }
    return clock(t);
  }

  function fill(li, start, text, language) {
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = label(start);
    li.replaceChildren(ts, " ", document.createTextNode(text));  // text nodes: never parsed as HTML
    li.dataset.start = start;
    if (language) li.lang = language; else li.removeAttribute("lang");
  }

  function atEdge() {
    if (!hls || hls.liveSyncPosition == null || isNaN(video.currentTime)) return true;
    return hls.liveSyncPosition - video.currentTime < EDGE - SYNC;
  }

  // New cues of the subtitle track become lines, in time order.
  function syncCues() {
    if (!track || !track.cues) return;
    let added = null;
    for (const cue of Array.from(track.cues)) {
      if (lines.has(cue.id)) continue;
      const li = document.createElement("li");
      li.className = "seg";
      li.tabIndex = 0;
      li.dataset.cue = cue.id;
      li.dataset.end = cue.endTime;
      const text = cue.text.replace(/<[^>]*>/g, "");  // drop a voice span (<v Name>); the rest is text
      fill(li, cue.startTime, text, null);
      lines.set(cue.id, li);
      markSpeaker(li);
      let next = null;
      for (const el of list.children) {
        if (el !== partial && parseFloat(el.dataset.start) > cue.startTime) { next = el; break; }
      }
      list.insertBefore(li, next || (partial.isConnected ? partial : null));
      added = li;
    }
    if (added && follow.checked && atEdge()) added.scrollIntoView({ block: "nearest" });
  }

  function highlight() {
    const t = video.currentTime;
    let el = null;
    for (const li of lines.values()) {
      if (parseFloat(li.dataset.start) <= t && t < parseFloat(li.dataset.end) + 0.5) el = li;
    }
    if (el === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    current = el;
    if (el) {
      el.classList.add("current");
      el.setAttribute("aria-current", "true");
      if (follow.checked && !atEdge()) el.scrollIntoView({ block: "nearest" });
    }
  }

  function showPartial(p) {
    if (!p || !p.text || !atEdge()) { partial.remove(); return; }
    fill(partial, video.currentTime, p.text, p.language);
    partial.querySelector(".ts").textContent = "";
    if (!partial.isConnected) list.append(partial);
    if (follow.checked) partial.scrollIntoView({ block: "nearest" });
  }

  // A proposed speaker (the line's voice matched a profile) beside the line, marked automatic:
  // nobody has confirmed it. Text nodes only: a name is never parsed as HTML.
  function markSpeaker(li) {
    const p = proposed.get(li.dataset.cue);
    let mark = li.querySelector(".auto-speaker");
    if (!p) { if (mark) mark.remove(); return; }
    if (!mark) {
      mark = document.createElement("span");
      mark.className = "auto-speaker";
      li.insertBefore(mark, li.querySelector(".ts").nextSibling);
    }
    mark.dataset.person = p.person_id;
    mark.title = t("autoSpeakerHint");
    mark.textContent = t("autoSpeaker", { name: p.name });
  }

  function showProposals(list) {
    proposed.clear();
    for (const p of Array.isArray(list) ? list : []) proposed.set(String(p.segment), p);
    for (const li of lines.values()) markSpeaker(li);
  }

  // The live-state file: a conditional GET every half second (If-None-Match; mostly a 304).
  let state = null;
  function pollState() {
    fetch(root.dataset.state, { cache: "no-cache" }).then((r) => (r.ok ? r.json() : null)).then((doc) => {
      if (doc && doc.version === 1) state = doc;
      if (state) document.dispatchEvent(new CustomEvent("sanarip:livestate", { detail: state }));  // live-record.js
      showPartial(state && state.partial);
      showProposals(state && state.speaker_proposals);
      if (state && state.status !== "live" && state.status !== "scheduled") {
        partial.remove();
        ended.hidden = false;
        return;
      }
      setTimeout(pollState, STATE_POLL);
    }).catch(() => setTimeout(pollState, 4 * STATE_POLL));
  }

  function seekTo(el) {
    if (video && el && el !== partial) { video.currentTime = parseFloat(el.dataset.start); video.play().catch(() => {}); }
  }
  list.addEventListener("click", (ev) => seekTo(ev.target.closest(".seg")));
  list.addEventListener("keydown", (ev) => { if (ev.key === "Enter") seekTo(ev.target.closest(".seg")); });
  toLive.addEventListener("click", () => {
    if (hls && hls.liveSyncPosition != null) video.currentTime = hls.liveSyncPosition;
    video.play().catch(() => {});
  });

  function findTrack() {
    for (const t of Array.from(video.textTracks)) {
      if (t.kind === "subtitles" || t.kind === "captions") { track = t; if (t.mode === "disabled") t.mode = "hidden"; }
    }
  }

  function tick() {
    if (!track) findTrack();
    syncCues();
    highlight();
    toLive.hidden = atEdge();
  }

  function startVideo() {
    const src = video.dataset.src;
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({
        // Behind by more than liveMaxLatencyDuration: seek to the sync point; behind by less, play
        // up to 1.5x until back there (a stall costs seconds, not the rest of the sitting).
        liveSyncDuration: SYNC, liveMaxLatencyDuration: EDGE + 6, maxLiveSyncPlaybackRate: 1.5,
        lowLatencyMode: false,  // plain HLS (no EXT-X-PART): nothing for LL-HLS to do
        subtitleDisplay: false,  // the panel shows the text; the track stays "hidden" but loads its cues
      });
      window.sanaripHls = hls;
      hls.on(window.Hls.Events.SUBTITLE_TRACKS_UPDATED, () => { if (hls.subtitleTracks.length) hls.subtitleTrack = 0; });
      hls.on(window.Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) setTimeout(() => { hls.destroy(); startVideo(); }, 3000);  // playlist not there yet
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;  // native HLS: the subtitle rendition becomes a text track too
    }
  }
  if (video) {
    startVideo();
    video.textTracks.addEventListener("addtrack", findTrack);
    video.addEventListener("timeupdate", tick);
    setInterval(tick, 500);
  }
  pollState();
})();
