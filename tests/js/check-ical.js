// Reads an iCalendar document on stdin and validates it with ical.js: it must parse, be one
// VCALENDAR 2.0 with a PRODID, and every VEVENT must carry the properties RFC 5545 requires
// (UID, DTSTAMP, DTSTART) with DTEND, if given, after DTSTART. Exits 1 on any error; 2 if
// ical.js is not installed.
"use strict";
let ICAL;
try {
  ICAL = require("ical.js");
} catch (err) {
  console.error(`ical.js is not installed (npm install): ${err.message}`);
  process.exit(2);
}
const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const errors = [];
  let events = 0;
  try {
    const cal = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));
    if (cal.name !== "vcalendar") errors.push(`root component is ${cal.name}, not vcalendar`);
    if (cal.getFirstPropertyValue("version") !== "2.0") errors.push("VERSION is not 2.0");
    if (!cal.getFirstPropertyValue("prodid")) errors.push("PRODID missing");
    for (const vevent of cal.getAllSubcomponents("vevent")) {
      events += 1;
      const uid = vevent.getFirstPropertyValue("uid") || `event ${events}`;
      for (const prop of ["uid", "dtstamp", "dtstart"]) {
        if (!vevent.hasProperty(prop)) errors.push(`${uid}: ${prop.toUpperCase()} missing`);
      }
      const start = vevent.getFirstPropertyValue("dtstart");
      const end = vevent.getFirstPropertyValue("dtend");
      if (start && end && end.compare(start) <= 0) errors.push(`${uid}: DTEND not after DTSTART`);
    }
  } catch (err) {
    errors.push(`does not parse: ${err.message}`);
  }
  for (const e of errors) console.error(e);
  console.log(JSON.stringify({ events }));
  process.exit(errors.length ? 1 : 0);
});
