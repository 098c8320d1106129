// Live page: the current agenda item and the newest vote events, from the live-state document
// that live.js polls (it announces each one with a "sanarip:livestate" event).
(function () {
  "use strict";
  const item = document.getElementById("live-item");
  const votes = document.getElementById("live-votes");
  if (!item || !votes) return;
  let shown = "";
  document.addEventListener("sanarip:livestate", (ev) => {
    const state = ev.detail || {};
    const current = state.agenda_item;
    item.hidden = !current;
    if (current) item.querySelector("span").textContent = current.identifier + " — " + current.title;
    const events = Array.isArray(state.vote_events) ? state.vote_events : [];
    const key = events.map((e) => e.identifier + ":" + e.label).join("|");
    if (key === shown) return;
    shown = key;
    votes.replaceChildren(...events.slice().reverse().map((e) => {
      const li = document.createElement("li");
      li.className = "live-vote";
      li.dataset.identifier = e.identifier;
      li.textContent = e.label;
      return li;
    }));
  });
})();
