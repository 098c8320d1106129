// The history page: revert a revision (a static file, so the page works under script-src 'self').
(function () {
  "use strict";
  const t = window.sanaripT;
  const list = document.getElementById("history");
  if (!list) return;
  list.querySelectorAll("button.revert").forEach((b) => b.addEventListener("click", async () => {
    const r = await fetch(`/api/v1/revisions/${b.dataset.revision}/revert`, {
      method: "POST", headers: { "X-CSRF-Token": list.dataset.csrf },
    });
    const body = await r.json();
    b.nextElementSibling.textContent = r.ok ? t("reverted") : (body.error || t("error", { status: r.status }));
    if (r.ok) location.reload();
  }));
})();
