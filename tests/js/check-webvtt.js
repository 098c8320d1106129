// Reads a WebVTT document on stdin and validates it with webvtt-parser (the W3C validator's
// parser). Prints each error and exits 1 if there is any; 2 if webvtt-parser is not installed.
"use strict";
let WebVTTParser;
try {
  ({ WebVTTParser } = require("webvtt-parser"));
} catch (err) {
  console.error(`webvtt-parser is not installed (npm install): ${err.message}`);
  process.exit(2);
}
const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const tree = new WebVTTParser().parse(Buffer.concat(chunks).toString("utf8"), "subtitles");
  for (const e of tree.errors) console.error(`line ${e.line}, column ${e.col}: ${e.message}`);
  console.log(JSON.stringify({ cues: tree.cues.length }));
  process.exit(tree.errors.length ? 1 : 0);
});
