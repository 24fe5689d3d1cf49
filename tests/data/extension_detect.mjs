// Runs the browser extension's detector (extension/src/detect.js) over JSON on stdin: [{text, region}] →
// [[{e164, extension, raw}]] on stdout. Used by tests/test_extension_build.py.
import { findPhoneNumbers } from "../../extension/src/detect.js";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const answers = JSON.parse(input).map(({ text, region }) =>
  findPhoneNumbers(text, region).map(({ e164, extension, raw }) => ({ e164, extension, raw })),
);
process.stdout.write(JSON.stringify(answers));
