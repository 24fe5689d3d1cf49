// The options page: pairing with the daemon, on/off, region, the per-site allow and deny lists and the sites
// switched off (by origin).
import { isSupportedCountry } from "libphonenumber-js/min";
import { PRODUCT, effectiveRegion, ext, parseHosts, parseOrigins, readSettings, writeSettings } from "./settings.js";

const $ = (id) => document.getElementById(id);

// The product's name comes with the package (_locales), so a branded daemon's package names only its product.
for (const element of document.querySelectorAll("[data-product]")) element.textContent = PRODUCT;
document.title = `${PRODUCT} click-to-dial: options`;

const STATE_TEXT = {
  paired: (s) => `Paired with ${s.productName} on port ${s.daemonPort}: clicking a number on a web page dials it.`,
  unpaired: (s) => `Not paired: numbers on web pages cannot be dialled until you enter a pairing code from ${s.productName}.`,
  revoked: (s) => `${s.productName} no longer accepts this browser (revoked or unpaired there). Enter a new pairing code to use it again.`,
  unreachable: (s) => `${s.productName} does not answer on port ${s.daemonPort}: is it running?`,
};

function say(element, text, ok) {
  element.textContent = text;
  element.dataset.ok = String(ok);
}

async function showState() {
  const settings = await readSettings();
  const state = settings.applicationId ? settings.state : "unpaired";
  const status = $("status");
  status.dataset.state = state;
  status.textContent = (STATE_TEXT[state] || STATE_TEXT.unpaired)(settings);
  $("unpair").hidden = !settings.applicationId;
}

async function fill() {
  const settings = await readSettings();
  $("port").value = String(settings.daemonPort);
  $("enabled").checked = settings.enabled;
  $("region").value = settings.region;
  $("region").placeholder = settings.daemonRegion;
  $("region-hint").textContent = settings.daemonRegion
    ? `Empty: ${settings.daemonRegion}, ${settings.productName}'s default. Now used: ${effectiveRegion(settings) || "none"}.`
    : `Empty: ${settings.productName}'s default region (known once paired).`;
  $("allow").value = settings.allow.join("\n");
  $("deny").value = settings.deny.join("\n");
  $("off-origins").value = settings.offOrigins.join("\n");
  await showState();
}

$("pair-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  const settings = await readSettings();
  if (!code && !settings.applicationId) {
    say($("pair-message"), `Enter the pairing code ${settings.productName} showed you.`, false);
    return;
  }
  say($("pair-message"), code ? "Pairing…" : "Checking…", true);
  const answer = code
    ? await ext.runtime.sendMessage({ type: "pair", port: $("port").value, code })
    : await ext.runtime.sendMessage({ type: "set-port", port: $("port").value });
  say($("pair-message"), answer.message, answer.ok);
  if (answer.ok) $("code").value = "";
  await fill();
});

$("unpair").addEventListener("click", async () => {
  const answer = await ext.runtime.sendMessage({ type: "unpair" });
  say($("pair-message"), answer.message, answer.ok);
  await fill();
});

$("settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const region = $("region").value.trim().toUpperCase();
  if (region && !(/^[A-Z]{2}$/.test(region) && isSupportedCountry(region))) {
    say($("save-message"), "The region is a two-letter country code such as GB, US or DE (or empty).", false);
    return;
  }
  await writeSettings({
    enabled: $("enabled").checked,
    region,
    allow: parseHosts($("allow").value),
    deny: parseHosts($("deny").value),
    offOrigins: parseOrigins($("off-origins").value),
  });
  say($("save-message"), "Saved. Pages opened from now on use these settings.", true);
  await fill();
});

ext.storage.onChanged.addListener(() => showState());

fill().then(() => ext.runtime.sendMessage({ type: "check" })).then(showState);
