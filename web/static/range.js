// Ranges of a sitting (?t=START-END): the player stops once at END, the range's lines are marked,
// and on the sitting page a viewer picks a first and a last line to share a range as a link,
// an MP4 and an embed code. Labels come from the page (translated there), never from this file.
(function () {
  "use strict";
  const video = document.getElementById("player");
  const root = document.querySelector("[data-sitting]");
  if (!root) return;
  const segs = Array.from(document.querySelectorAll("#transcript .seg"));

  function mark(start, end) {
    segs.forEach((el) => {
      const inside = parseFloat(el.dataset.end) > start && parseFloat(el.dataset.start) < end;
      el.classList.toggle("in-range", inside);
    });
  }

  // Stop at the range's end the first time playback reaches it; after that the viewer plays on.
  if (video && video.dataset.end) {
    const end = parseFloat(video.dataset.end);
    let stopped = false;
    mark(parseFloat(video.dataset.start || "0"), end);
    video.addEventListener("timeupdate", () => {
      if (!stopped && video.currentTime >= end) {
        stopped = true;
        video.pause();
        video.currentTime = end;
      }
    });
  }

  const pick = document.getElementById("range-pick");
  const transcript = document.getElementById("transcript");
  if (!pick || !transcript) return;
  const status = document.getElementById("range-status");
  const out = document.getElementById("range-share");
  const link = document.getElementById("range-url");
  const mp4 = document.getElementById("range-mp4");
  const code = document.getElementById("range-embed");
  let first = null;
  let picking = false;

  function fmt(t) { return String(Math.round(t * 10) / 10); }

  function share(a, b) {
    const start = Math.min(parseFloat(a.dataset.start), parseFloat(b.dataset.start));
    const end = Math.max(parseFloat(a.dataset.end), parseFloat(b.dataset.end));
    const t = `${fmt(start)}-${fmt(end)}`;
    const page = `${location.origin}/s/${root.dataset.sitting}?t=${t}`;
    link.value = page;
    mp4.href = `/s/${root.dataset.sitting}/clip.mp4?t=${t}`;
    const embed = `${location.origin}/embed/s/${root.dataset.sitting}?t=${t}`;
    const iframe = document.createElement("iframe");  // built as an element, so the URL is escaped
    iframe.setAttribute("src", embed);
    iframe.setAttribute("width", "640");
    iframe.setAttribute("height", "480");
    iframe.setAttribute("title", document.title);
    code.value = iframe.outerHTML;
    out.hidden = false;
    mark(start, end);
    history.replaceState(null, "", `?t=${t}`);
  }

  pick.addEventListener("click", () => {
    picking = true;
    first = null;
    status.textContent = pick.dataset.first;
  });

  // Capture phase: while picking, a click on a line chooses it instead of seeking the player.
  transcript.addEventListener("click", (ev) => {
    const seg = ev.target.closest(".seg");
    if (!picking || !seg) return;
    ev.preventDefault();
    ev.stopPropagation();
    if (!first) {
      first = seg;
      seg.classList.add("in-range");
      status.textContent = pick.dataset.last;
      return;
    }
    picking = false;
    share(first, seg);
    status.textContent = pick.dataset.done;
  }, true);
})();
