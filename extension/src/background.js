// Service worker (Firefox: background script): the only part of the extension that talks to the daemon.
//
// Content scripts ask it to dial; the options page asks it to pair, unpair and check. It keeps the pairing
// state in storage and shows it on the toolbar badge, so an unpaired or cut-off extension is never silent.
import { CUT_OFF_CODES, Unreachable, post } from "./daemon.js";
import { PRODUCT, ext, originOf, readSettings, toggleOrigin, writeSettings } from "./settings.js";

const CHECK_ALARM = "partnercrmd-check";
const BROWSER_NAME = __BROWSER_NAME__; // set by build.mjs: "Chromium" or "Firefox"
const BADGES = {
  paired: { text: "", colour: "#1b5e20", title: `Phone numbers on web pages dial through ${PRODUCT}.` },
  unpaired: { text: "PAIR", colour: "#e65100", title: `Not paired with ${PRODUCT}: open the options to pair.` },
  revoked: { text: "OFF", colour: "#b71c1c", title: `${PRODUCT} no longer accepts this extension: pair it again.` },
  unreachable: { text: "?", colour: "#616161", title: `${PRODUCT} is not running or not reachable.` },
};

async function setState(state, message = "") {
  await writeSettings({ state, stateMessage: message });
  await showBadge(state, message);
}

async function showBadge(state, message) {
  const badge = BADGES[state] || BADGES.unpaired;
  await ext.action.setBadgeText({ text: badge.text });
  await ext.action.setBadgeBackgroundColor({ color: badge.colour });
  await ext.action.setTitle({ title: message ? `${badge.title}\n${message}` : badge.title });
}

function stateMessage(state, product) {
  if (state === "unpaired") return `This browser is not paired with ${product}: open the extension's options and enter a pairing code.`;
  if (state === "revoked") return `${product} no longer accepts this browser (revoked or unpaired): pair it again in the extension's options.`;
  return "";
}

/** Learn from a daemon answer whether the pairing still holds; the state now. */
async function judge(reply, settings) {
  if (reply.status >= 200 && reply.status < 300) {
    if (settings.state !== "paired") await setState("paired");
    return "paired";
  }
  if ((reply.status === 401 || reply.status === 403) && CUT_OFF_CODES.has(reply.body.Code)) {
    await setState("revoked", stateMessage("revoked", settings.productName));
    return "revoked";
  }
  return settings.state;
}

async function dial(destination) {
  const settings = await readSettings();
  if (!settings.applicationId) {
    const message = stateMessage("unpaired", settings.productName);
    await setState("unpaired", message);
    return { ok: false, state: "unpaired", message };
  }
  let reply;
  try {
    reply = await post(settings.daemonPort, "Dial", { Destination: destination, Source: "WebPage" }, settings.applicationId);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    await setState("unreachable", error.message);
    return { ok: false, state: "unreachable", message: error.message };
  }
  const state = await judge(reply, settings);
  if (reply.status >= 200 && reply.status < 300) {
    return { ok: true, state, message: `Calling ${reply.body.DisplayNumber || destination}…` };
  }
  const message = state === "revoked" ? stateMessage("revoked", settings.productName) : reply.body.Message || `HTTP ${reply.status}`;
  return { ok: false, state, message };
}

async function pair(port, code) {
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    return { ok: false, message: `The port must be a number from 1 to 65535 (${PRODUCT}'s default is 10088).` };
  }
  let reply;
  try {
    reply = await post(portNumber, "PairExtension", { Code: String(code).trim(), Name: `Browser extension (${BROWSER_NAME})` });
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    return { ok: false, message: error.message };
  }
  if (reply.status !== 200 || !reply.body.ApplicationId) {
    return { ok: false, message: reply.body.Message || `Pairing failed (HTTP ${reply.status}).` };
  }
  await writeSettings({
    daemonPort: portNumber,
    applicationId: reply.body.ApplicationId,
    daemonRegion: reply.body.Region || "",
    productName: reply.body.ProductName || PRODUCT,
  });
  await setState("paired");
  return { ok: true, message: `Paired with ${reply.body.ProductName || PRODUCT}.` };
}

/** Keep the pairing, talk to partnercrmd on another port (it moved: terminal servers give each user one). */
async function setPort(port) {
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    return { ok: false, message: `The port must be a number from 1 to 65535 (${PRODUCT}'s default is 10088).` };
  }
  await writeSettings({ daemonPort: portNumber });
  const { state } = await check();
  const settings = await readSettings();
  if (state === "paired") return { ok: true, message: `${settings.productName} answers on port ${portNumber}.` };
  return { ok: false, message: settings.stateMessage || stateMessage(state, settings.productName) };
}

async function unpair() {
  await writeSettings({ applicationId: "" });
  const settings = await readSettings();
  await setState("unpaired", stateMessage("unpaired", settings.productName));
  return { ok: true, message: "This browser is no longer paired." };
}

/** Ask the daemon whether the pairing still holds (POST Ping needs an approved application). */
async function check() {
  const settings = await readSettings();
  if (!settings.applicationId) {
    await setState("unpaired", stateMessage("unpaired", settings.productName));
    return { ok: true, state: "unpaired" };
  }
  try {
    const reply = await post(settings.daemonPort, "Ping", { Id: "extension-check" }, settings.applicationId);
    return { ok: true, state: await judge(reply, settings) };
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    await setState("unreachable", error.message);
    return { ok: true, state: "unreachable" };
  }
}

const HANDLERS = {
  dial: (message) => dial(String(message.destination || "").slice(0, 256)),
  pair: (message) => pair(message.port, message.code),
  "set-port": (message) => setPort(message.port),
  unpair: () => unpair(),
  check: () => check(),
};

ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const handler = message && HANDLERS[message.type];
  if (!handler || sender.id !== ext.runtime.id) return false;
  if (message.type !== "dial" && sender.tab && !String(sender.url || "").startsWith(ext.runtime.getURL(""))) return false;
  handler(message).then(sendResponse, (error) => sendResponse({ ok: false, message: String(error.message || error) }));
  return true; // the answer comes asynchronously
});

ext.action.onClicked.addListener(() => ext.runtime.openOptionsPage());

// The per-site off switch: the page's right-click menu and the toolbar button's menu switch the page's origin off
// (or back on) and reload the tab, so its content script starts again and does nothing there.
const SITE_MENU = "site-on-off";

async function toggleSite(tab) {
  const origin = originOf(tab && tab.url);
  if (!origin) return;
  const settings = await readSettings();
  await writeSettings({ offOrigins: toggleOrigin(settings.offOrigins, origin) });
  if (tab.id !== undefined) await ext.tabs.reload(tab.id);
}

ext.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === SITE_MENU) toggleSite(tab);
});
ext.runtime.onInstalled.addListener(() =>
  ext.contextMenus.create({ id: SITE_MENU, title: `Switch ${PRODUCT} click-to-dial off or on for this site`, contexts: ["page", "action"] }),
);
ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === CHECK_ALARM) check();
});
ext.runtime.onInstalled.addListener(() => ext.alarms.create(CHECK_ALARM, { periodInMinutes: 1 }));
ext.runtime.onStartup.addListener(() => check());

readSettings().then((settings) => showBadge(settings.state, settings.stateMessage || stateMessage(settings.state, settings.productName)));
