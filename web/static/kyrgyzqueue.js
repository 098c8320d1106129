// The clerks' Kyrgyz queue: play a passage from its start to its end, type its text, save it
// through the editor's API (the server spreads the word times and labels the language).
(function () {
  "use strict";
  const t = window.sanaripT;
  document.querySelectorAll(".kyrgyz-sitting").forEach((section) => {
    const video = section.querySelector(".kq-player");
    const csrf = section.dataset.csrf;
    let stopAt = null;
    let attached = false;

    function attach() {
      if (attached || !video) return;
      attached = true;
      if (window.Hls && window.Hls.isSupported()) {
        const hls = new window.Hls();
        hls.loadSource(video.dataset.src);
        hls.attachMedia(video);
      } else {
        video.src = video.dataset.src;
      }
    }

    video.addEventListener("timeupdate", () => {
      if (stopAt !== null && video.currentTime >= stopAt) {
        video.pause();
        stopAt = null;
      }
    });

    section.querySelectorAll(".kq-passage").forEach((item) => {
      const status = item.querySelector(".kq-status");
      item.querySelector(".kq-play").addEventListener("click", () => {
        attach();
        const start = parseFloat(item.dataset.start);
        stopAt = parseFloat(item.dataset.end);
        const play = () => { video.currentTime = start; video.play().catch(() => {}); };
        if (video.readyState >= 1) play(); else video.addEventListener("loadedmetadata", play, { once: true });
      });
      item.querySelector(".kq-save").addEventListener("click", async () => {
        const text = item.querySelector(".kq-text").value.trim();
        if (!text) { status.textContent = status.dataset.empty || "…"; return; }
        const resp = await fetch(`/api/v1/segments/${item.dataset.id}`, {
          method: "PATCH",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ text, version: parseInt(item.dataset.version, 10) }),
        });
        const body = await resp.json().catch(() => ({}));
        if (resp.ok) {
          item.dataset.version = body.version;
          item.classList.add("done");
          status.textContent = t("saved");
        } else {
          status.textContent = body.error || String(resp.status);
        }
      });
    });
  });
})();
