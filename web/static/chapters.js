// Sitting page: agenda items as chapters (a list that seeks, marks on a timeline bar) and vote
// events as marks; the current chapter follows the video.
(function () {
  "use strict";
  const video = document.getElementById("player");
  const bar = document.getElementById("marks");
  const chapters = Array.from(document.querySelectorAll("#chapters a[data-seek]"));

  function duration() {
    const d = video && isFinite(video.duration) && video.duration > 0 ? video.duration : 0;
    return d || parseFloat((bar && bar.dataset.duration) || "0");
  }

  function place() {
    if (!bar) return;
    const d = duration();
    bar.querySelectorAll(".mark").forEach((mark) => {
      const t = parseFloat(mark.dataset.seek);
      mark.style.left = d > 0 ? Math.min(100, (100 * t) / d) + "%" : "0";
    });
  }

  document.addEventListener("click", (ev) => {
    const target = ev.target.closest("[data-seek]");
    if (!target || !window.sanaripSeek) return;
    ev.preventDefault();
    window.sanaripSeek(parseFloat(target.dataset.seek), true);
  });

  function mark() {
    if (!video) return;
    const t = video.currentTime;
    let current = null;
    chapters.forEach((a) => { if (parseFloat(a.dataset.seek) <= t + 0.05) current = a; });
    chapters.forEach((a) => {
      if (a === current) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
    });
  }

  place();
  if (video) {
    video.addEventListener("loadedmetadata", place);
    video.addEventListener("durationchange", place);
    video.addEventListener("timeupdate", mark);
    video.addEventListener("seeked", mark);
  }
})();
