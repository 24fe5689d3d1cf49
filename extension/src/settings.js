// The extension's settings and pairing state, kept in storage.local (shared by every part of the extension).

export const DEFAULT_PORT = 10088;

/** The extension's API object: `browser` on Firefox, `chrome` on Chromium-based browsers. */
export const ext = globalThis.browser ?? globalThis.chrome;

/** The product's name, from the package's _locales (a branded daemon serves packages with its own name in them). */
export const PRODUCT = ext?.i18n?.getMessage("productName") || "the CRM integration";

export const DEFAULTS = Object.freeze({
  enabled: true,
  region: "", // "" = the daemon's default region (learnt at pairing)
  allow: [], // host names; when any are listed, only those sites get links
  deny: [], // host names that never get links (wins over allow)
  offOrigins: [], // origins (https://crm.example.com:8443) the user switched off: the content script does nothing there
  daemonPort: DEFAULT_PORT,
  applicationId: "",
  daemonRegion: "",
  productName: PRODUCT,
  state: "unpaired", // unpaired | paired | revoked | unreachable
  stateMessage: "",
});

export async function readSettings() {
  const stored = await ext.storage.local.get(Object.keys(DEFAULTS));
  return { ...DEFAULTS, ...stored };
}

export async function writeSettings(changes) {
  await ext.storage.local.set(changes);
}

/** Host names from a textarea: one per line (or comma-separated), lower case, without scheme, path or "*.". */
export function parseHosts(text) {
  return [
    ...new Set(
      String(text)
        .split(/[\s,]+/)
        .map((h) => h.trim().toLowerCase().replace(/^[a-z]+:\/\//, "").replace(/[/:].*$/, "").replace(/^\*\./, ""))
        .filter((h) => /^[a-z0-9.-]+$/.test(h)),
    ),
  ].sort();
}

/** The origin of a web page's address ("https://crm.example.com"), or "" for anything but http and https. */
export function originOf(url) {
  try {
    const parsed = new URL(String(url));
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.origin : "";
  } catch {
    return "";
  }
}

/** Origins from a textarea, one a line: "crm.example.com" is taken as https://crm.example.com. */
export function parseOrigins(text) {
  return [
    ...new Set(
      String(text)
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((entry) => originOf(/^[a-z]+:\/\//i.test(entry) ? entry : `https://${entry}`)),
    ),
  ]
    .filter(Boolean)
    .sort();
}

/** `origins` with `origin` added, or taken out when it is there already (the per-site off switch). */
export function toggleOrigin(origins, origin) {
  return origins.includes(origin) ? origins.filter((o) => o !== origin) : [...origins, origin].sort();
}

function hostMatches(host, entry) {
  return host === entry || host.endsWith(`.${entry}`);
}

/** Whether the page at `host` (of `origin`) gets links: enabled, not switched off, not denied, and allowed. */
export function siteAllowed(settings, host, origin = "") {
  if (!settings.enabled) return false;
  if (origin && settings.offOrigins.includes(origin)) return false;
  const name = String(host).toLowerCase();
  if (settings.deny.some((entry) => hostMatches(name, entry))) return false;
  return settings.allow.length === 0 || settings.allow.some((entry) => hostMatches(name, entry));
}

/** The region of the browser's language ("en-GB" → "GB"), or "". */
export function localeRegion(language = globalThis.navigator?.language || "") {
  const match = /^[a-z]{2,3}[-_]([a-z]{2})\b/i.exec(language);
  return match ? match[1].toUpperCase() : "";
}

/** The region numbers without a country code are read in: the user's choice, else the daemon's (else the browser's). */
export function effectiveRegion(settings) {
  return (settings.region || settings.daemonRegion || localeRegion()).toUpperCase();
}
