// Builds the two extension packages, reproducibly: the same sources give byte-identical zips.
//
//   node build.mjs [--out DIR] [--unpacked DIR]
//
// --out (default ../partnercrmd/static/extension) receives partnercrmd-chromium.zip (Chrome, Edge, Opera)
// and partnercrmd-firefox.zip; --unpacked also writes each package unzipped to DIR/<target>/ for development.
// Entries are sorted, stored (no compression: identical on every Node/zlib), dated 1980-01-01 00:00 and carry
// no absolute paths; esbuild's output does not depend on the directory it runs in.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const TARGETS = {
  chromium: { manifest: "manifests/chromium.json", esbuildTarget: "chrome111", browserName: "Chromium" },
  firefox: { manifest: "manifests/firefox.json", esbuildTarget: "firefox115", browserName: "Firefox" },
};
const STATIC_FILES = ["src/options.html", "src/options.css", "src/_locales/en/messages.json"];
// Every name the browser and the pages show comes from _locales/en/messages.json ("partnercrmd" there): a branded
// daemon serves the same package with the product's name in that one file (partnercrmd/extension_pages.py).

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 && process.argv[index + 1] ? resolve(process.argv[index + 1]) : fallback;
}

async function bundle(target) {
  const result = await build({
    absWorkingDir: HERE,
    entryPoints: { content: "src/content.js", background: "src/background.js", options: "src/options.js" },
    bundle: true,
    format: "iife",
    target: TARGETS[target].esbuildTarget,
    minify: true,
    legalComments: "eof",
    define: { __BROWSER_NAME__: JSON.stringify(TARGETS[target].browserName) },
    charset: "utf8",
    write: false,
    outdir: "out",
    logLevel: "warning",
  });
  return result.outputFiles.map((file) => [file.path.slice(join(HERE, "out").length + 1), Buffer.from(file.contents)]);
}

function manifest(target, version) {
  const text = readFileSync(join(HERE, TARGETS[target].manifest), "utf8").replaceAll("__VERSION__", version);
  return Buffer.from(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
}

// --- a minimal, deterministic zip writer (stored entries) -------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data) {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest zip date

function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

async function main() {
  const out = option("--out", resolve(HERE, "../partnercrmd/static/extension"));
  const unpacked = option("--unpacked", "");
  const { version } = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8"));
  mkdirSync(out, { recursive: true });
  for (const target of Object.keys(TARGETS)) {
    const entries = [
      ...(await bundle(target)),
      ["manifest.json", manifest(target, version)],
      ...STATIC_FILES.map((file) => [file.slice("src/".length), readFileSync(join(HERE, file))]),
    ];
    writeFileSync(join(out, `partnercrmd-${target}.zip`), zip(entries));
    if (unpacked) {
      for (const [name, data] of entries) {
        mkdirSync(dirname(join(unpacked, target, name)), { recursive: true });
        writeFileSync(join(unpacked, target, name), data);
      }
    }
  }
}

await main();
