// The editor's one keymap: a table of key chord → action name, read by the help overlay (F1).
// Pages define what each action does (SanaripKeymap.define); another module adds keys with
// SanaripKeymap.bind("Alt+Y", "acceptProposal") and define("acceptProposal", fn), and the
// help lists them once the page's messages hold "key.acceptProposal".
(function () {
  "use strict";
  const bindings = [
    ["Alt+K", "playPause"], ["Alt+J", "back"], ["Alt+L", "forward"], ["Alt+P", "playLine"],
    ["Alt+ArrowDown", "nextLine"], ["Alt+ArrowUp", "previousLine"],
    ["Alt+Shift+ArrowDown", "extendDown"], ["Alt+Shift+ArrowUp", "extendUp"],
    ["Enter", "save"], ["Control+Enter", "save"], ["Control+S", "save"],
    ["Alt+S", "speaker"], ["Alt+[", "setStart"], ["Alt+]", "setEnd"],
    ["Alt+B", "split"], ["Alt+M", "merge"], ["Escape", "cancel"], ["F1", "help"],
    // the agenda panel (agenda-editor.js): items, not lines
    ["Alt+N", "agendaAdd"], ["Alt+Shift+[", "agendaStart"], ["Alt+Shift+]", "agendaEnd"],
    ["Alt+Shift+Delete", "agendaDelete"],
  ];
  const actions = {};
  // Letters, digits and brackets by their place on the keyboard (Alt+K types "˚" on a Mac layout).
  const CODES = { BracketLeft: "[", BracketRight: "]", Slash: "/", Period: ".", Comma: "," };

  function keyName(ev) {
    if (/^Key[A-Z]$/.test(ev.code)) return ev.code.slice(3);
    if (/^Digit\d$/.test(ev.code)) return ev.code.slice(5);
    if (CODES[ev.code]) return CODES[ev.code];
    return ev.key.length === 1 ? ev.key.toUpperCase() : ev.key;
  }

  function chordOf(ev) {
    const mods = [ev.ctrlKey && "Control", ev.altKey && "Alt", ev.shiftKey && "Shift", ev.metaKey && "Meta"];
    return mods.filter(Boolean).concat(keyName(ev)).join("+");
  }

  function actionFor(ev) {
    const chord = chordOf(ev);
    const hit = bindings.find(([keys]) => keys === chord);
    return hit ? hit[1] : null;
  }

  window.SanaripKeymap = {
    bindings,
    bind(keys, action) { bindings.push([keys, action]); },
    define(action, fn) { actions[action] = fn; },
    chordOf,
    // Runs the event's action, if any; true when it did (the caller's default is then prevented).
    handle(ev) {
      const action = actionFor(ev);
      if (!action || !actions[action]) return false;
      if (actions[action](ev) === false) return false;
      ev.preventDefault();
      return true;
    },
    // [[keys, action], …] grouped by action, in table order: what the help overlay shows.
    byAction() {
      const out = new Map();
      for (const [keys, action] of bindings) out.set(action, (out.get(action) || []).concat(keys));
      return Array.from(out.entries());
    },
  };
})();
