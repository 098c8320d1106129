// Sitting page: HLS playback (hls.js or native), transcript synchronized with the video,
// click-to-seek, links to moments, find-in-transcript, keyboard control.
(function () {
  "use strict";
  const t = window.sanaripT;
  const video = document.getElementById("player");
  const list = document.getElementById("transcript");
  const root = document.querySelector("[data-sitting]");
  if (!root) return;
  const segs = Array.from(document.querySelectorAll("#transcript .seg"));
  const starts = segs.map((el) => parseFloat(el.dataset.start));
  const follow = document.getElementById("follow");
  let current = null;

  function attach(startAt) {
    if (!video) return;
    const src = video.dataset.src;
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ startPosition: startAt });
      hls.loadSource(src);
      hls.attachMedia(video);
      window.sanaripHls = hls;
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      video.addEventListener("loadedmetadata", () => { video.currentTime = startAt; }, { once: true });
    }
  }

  function segmentAt(t) {
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function highlight(t) {
    const i = segmentAt(t);
    const el = i >= 0 && t <= parseFloat(segs[i].dataset.end) + 1.0 ? segs[i] : null;
    if (el === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    current = el;
    if (el) {
      el.classList.add("current");
      el.setAttribute("aria-current", "true");
      if (follow && follow.checked) el.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  function seek(t, play) {
    if (!video) return;
    video.currentTime = t;
    highlight(t);
    if (play) video.play().catch(() => {});
  }
  window.sanaripSeek = seek;

  function momentUrl() {
    const t = video ? video.currentTime : 0;
    const v = root.dataset.version;
    const path = v ? `/s/${root.dataset.sitting}/v/${v}` : `/s/${root.dataset.sitting}`;
    return `${location.origin}${path}?t=${t.toFixed(1)}`;
  }

  // The start of the word under the pointer: the segment's text carries one offset per
  // whitespace-separated word (data-w), so the caret position names the word.
  function wordStart(ev, seg) {
    const tx = seg.querySelector(".tx");
    if (!tx || !tx.dataset.w) return null;
    let node = null, offset = 0;
    if (document.caretPositionFromPoint) {
      const p = document.caretPositionFromPoint(ev.clientX, ev.clientY);
      if (p) { node = p.offsetNode; offset = p.offset; }
    } else if (document.caretRangeFromPoint) {
      const r = document.caretRangeFromPoint(ev.clientX, ev.clientY);
      if (r) { node = r.startContainer; offset = r.startOffset; }
    }
    if (!node || node.parentNode !== tx) return null;
    const times = tx.dataset.w.split(" ");
    const index = Math.min(node.textContent.slice(0, offset).split(/\s+/).length - 1, times.length - 1);
    return parseFloat(seg.dataset.start) + parseFloat(times[index]);
  }

  if (list) {
    list.addEventListener("click", (ev) => {
      const link = ev.target.closest("a.ts");
      const seg = ev.target.closest(".seg");
      if (!seg || ev.target.closest(".speaker a")) return;
      if (link) ev.preventDefault();
      const word = link ? null : wordStart(ev, seg);
      seek(word === null ? parseFloat(seg.dataset.start) : word, true);
    });
    list.addEventListener("keydown", (ev) => {
      const seg = ev.target.closest(".seg");
      if (!seg) return;
      const i = segs.indexOf(seg);
      if (ev.key === "Enter") { ev.preventDefault(); seek(parseFloat(seg.dataset.start), true); }
      else if (ev.key === "ArrowDown" && i + 1 < segs.length) { ev.preventDefault(); segs[i + 1].focus(); }
      else if (ev.key === "ArrowUp" && i > 0) { ev.preventDefault(); segs[i - 1].focus(); }
    });
  }

  document.addEventListener("keydown", (ev) => {
    if (!video || ev.target.closest("input, textarea, select, button, [contenteditable]")) return;
    if (ev.key === " " && !ev.target.closest(".seg")) {
      ev.preventDefault();
      if (video.paused) video.play().catch(() => {}); else video.pause();
    } else if (ev.key === "ArrowLeft" && !ev.target.closest("video")) {
      ev.preventDefault();
      seek(Math.max(0, video.currentTime - 5), false);
    }
  });

  const copy = document.getElementById("copy-link");
  const out = document.getElementById("moment-url");
  const status = document.getElementById("copied");
  if (copy) {
    copy.addEventListener("click", () => {
      const url = momentUrl();
      out.value = url;
      const done = () => { status.textContent = t("copied"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(done, () => { out.select(); });
      } else { out.select(); done(); }
    });
  }

  const find = document.getElementById("find");
  const count = document.getElementById("find-count");
  if (find) {
    let matches = [], at = -1;
    find.addEventListener("input", () => {
      const q = find.value.trim().toLocaleLowerCase();
      segs.forEach((el) => el.classList.remove("found"));
      matches = q ? segs.filter((el) => el.textContent.toLocaleLowerCase().includes(q)) : [];
      matches.forEach((el) => el.classList.add("found"));
      at = -1;
      count.textContent = q ? t("matches", { num: matches.length }) : "";
    });
    find.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" || !matches.length) return;
      ev.preventDefault();
      at = (at + 1) % matches.length;
      matches[at].scrollIntoView({ block: "center" });
      matches[at].focus();
    });
  }

  if (video) {
    const start = parseFloat(video.dataset.start || "0") || 0;
    attach(start);
    video.addEventListener("timeupdate", () => highlight(video.currentTime));
    video.addEventListener("seeked", () => highlight(video.currentTime));
    if (start) highlight(start);
    if (start && current) current.scrollIntoView({ block: "center" });
  }
})();
