// Copies the API explorer's files into the Python package, reproducibly: the same sources give the same bytes.
//
//   node build.mjs [--out DIR]
//
// --out (default ../partnercrmd/static/explorer) receives Swagger UI's browser bundle and stylesheet from
// node_modules/swagger-ui-dist (the version pinned by package-lock.json; `npm ci --ignore-scripts` installs it),
// its licence and notice, and this folder's own src/explorer.js and src/explorer.css. Nothing is fetched at run
// time: the daemon serves these files itself. Source-map comments are dropped (the maps are not shipped, and a
// browser's developer tools would otherwise ask the daemon for them).
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const SWAGGER = join(HERE, "node_modules", "swagger-ui-dist");
const COPIED = {
  "swagger-ui-bundle.js": join(SWAGGER, "swagger-ui-bundle.js"),
  "swagger-ui.css": join(SWAGGER, "swagger-ui.css"),
  "swagger-ui.LICENSE.txt": join(SWAGGER, "LICENSE"),
  "swagger-ui.NOTICE.txt": join(SWAGGER, "NOTICE"),
  "swagger-ui-bundle.js.LICENSE.txt": join(SWAGGER, "swagger-ui-bundle.js.LICENSE.txt"),
  "explorer.js": join(HERE, "src", "explorer.js"),
  "explorer.css": join(HERE, "src", "explorer.css"),
};
const SOURCE_MAP = /\n?\/[/*]# sourceMappingURL=[^\n]*\n?/g;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 && process.argv[index + 1] ? resolve(process.argv[index + 1]) : fallback;
}

function main() {
  const out = option("--out", resolve(HERE, "../partnercrmd/static/explorer"));
  const { version } = JSON.parse(readFileSync(join(SWAGGER, "package.json"), "utf8"));
  const pinned = JSON.parse(readFileSync(join(HERE, "package-lock.json"), "utf8")).packages[
    "node_modules/swagger-ui-dist"
  ].version;
  if (version !== pinned) {
    throw new Error(`node_modules has swagger-ui-dist ${version}, package-lock.json pins ${pinned}: run npm ci`);
  }
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(out)) {
    if (!(name in COPIED) && name !== "VERSION") rmSync(join(out, name)); // files of an older build
  }
  for (const [name, source] of Object.entries(COPIED)) {
    let data = readFileSync(source);
    if (/\.(js|css)$/.test(name)) data = Buffer.from(data.toString("utf8").replace(SOURCE_MAP, "\n"));
    writeFileSync(join(out, name), data);
  }
  writeFileSync(join(out, "VERSION"), `swagger-ui-dist ${version}\n`);
}

main();
