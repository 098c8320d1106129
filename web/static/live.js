// Live page: the growing HLS playlist plus the live transcript (Server-Sent Events, polling fallback).
(function () {
  "use strict";
  const t = window.sanaripT;
  const root = document.getElementById("live");
  if (!root) return;
  const video = document.getElementById("player");
  const list = document.getElementById("transcript");
  const follow = document.getElementById("follow");
  const ended = document.getElementById("ended");
  let after = -1;
  const seen = new Set();
  // The words heard but not yet committed to a line: shown last, greyed, replaced as they firm up.
  const partial = document.createElement("li");
  partial.className = "seg partial";
  partial.setAttribute("aria-hidden", "true");  // screen readers announce committed lines only

  function clock(s) {
    s = Math.floor(s);
    const p = (n) => String(n).padStart(2, "0");
    return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
  }

  // Fill a line with its time and text (text nodes: never parsed as HTML).
  function fill(li, line) {
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = clock(line.start);
    const parts = [ts, " "];
    if (line.unreliable) {  // the same flag as on the sitting page
      const flag = document.createElement("span");
      flag.className = "flag";
      flag.title = t("uncertain_title");
      flag.textContent = t("uncertain");
      parts.push(flag, " ");
    }
    li.replaceChildren(...parts, document.createTextNode(line.text));
    li.dataset.start = line.start;
    if (line.language) li.lang = line.language; else li.removeAttribute("lang");
  }

  function add(seg) {
    if (seen.has(seg.id)) return;
    seen.add(seg.id);
    after = Math.max(after, seg.start);
    const li = document.createElement("li");
    li.className = "seg" + (seg.unreliable ? " unreliable" : "");
    li.tabIndex = 0;
    fill(li, seg);
    list.insertBefore(li, partial.isConnected ? partial : null);
    if (follow.checked) li.scrollIntoView({ block: "nearest" });
  }

  function showPartial(p) {
    if (!p || !p.text) { partial.remove(); return; }
    fill(partial, p);
    if (!partial.isConnected) list.append(partial);
    if (follow.checked) partial.scrollIntoView({ block: "nearest" });
  }

  function finish() {
    partial.remove();
    ended.hidden = false;
  }

  function seekTo(el) {
    if (video && el) { video.currentTime = parseFloat(el.dataset.start); video.play().catch(() => {}); }
  }
  list.addEventListener("click", (ev) => seekTo(ev.target.closest(".seg")));
  list.addEventListener("keydown", (ev) => { if (ev.key === "Enter") seekTo(ev.target.closest(".seg")); });

  function poll() {
    fetch(`${root.dataset.poll}?after=${after}`).then((r) => r.json()).then((data) => {
      data.segments.forEach(add);
      showPartial(data.partial);
      if (data.status !== "live" && data.status !== "scheduled") finish();
      else setTimeout(poll, 2000);
    }).catch(() => setTimeout(poll, 5000));
  }

  if (window.EventSource) {
    const source = new EventSource(root.dataset.events);
    source.addEventListener("segment", (ev) => add(JSON.parse(ev.data)));
    source.addEventListener("partial", (ev) => showPartial(JSON.parse(ev.data)));
    source.addEventListener("ended", () => { source.close(); finish(); });
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) poll(); };
  } else {
    poll();
  }

  function startVideo() {
    const src = video.dataset.src;
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ liveSyncDurationCount: 2 });
      hls.on(window.Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) setTimeout(() => { hls.destroy(); startVideo(); }, 3000);  // playlist not there yet
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    }
  }
  if (video) startVideo();
})();
