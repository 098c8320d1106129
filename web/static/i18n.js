// Translated script messages: the page's <body data-messages> holds them (web/jsmessages.py).
// sanaripT("key", {name: value}) fills %(name)s; sanaripT("key", {num: n}) picks the plural form.
(function () {
  "use strict";
  let messages = {};
  try { messages = JSON.parse(document.body.dataset.messages || "{}"); } catch (e) { messages = {}; }
  const rules = new Intl.PluralRules(document.documentElement.lang || "en");
  window.sanaripT = function (key, values) {
    let text = messages[key];
    values = values || {};
    if (text && typeof text === "object") text = text[rules.select(values.num)] || text.other;
    if (typeof text !== "string") return key;
    return text.replace(/%\((\w+)\)s/g, (m, name) => (name in values ? String(values[name]) : m));
  };
})();
