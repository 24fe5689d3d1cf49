// Content script: turns phone numbers in page text into links that dial through the partnercrmd daemon.
//
// It walks text nodes (a TreeWalker), skipping scripts, styles, form fields, code, SVG, editable regions and
// existing links; it works in idle time in slices of at most BUDGET_MS so a huge page never freezes; a
// MutationObserver queues content added later. Links are built with DOM APIs only. Clicking one (or an
// existing tel:/callto: link) asks the service worker to POST Dial; the daemon tells the phone client.
import { numbersInSegment, prepare, segments, warmUpSteps } from "./detect.js";
import { effectiveRegion, ext, readSettings, siteAllowed } from "./settings.js";

const BUDGET_MS = 4; // work per slice; far below the 50 ms that counts as a long task
const FLUSH_MS = 1000; // links found are put into the page at most this often (and when the scan ends):
// every DOM change makes the browser lay out and paint again, which on a huge page costs more than the scan
const FALLBACK_DELAY_MS = 16; // without requestIdleCallback: a timer between slices
const LINK_CLASS = "partnercrmd-dial";
const SKIPPED = new Set([
  "script", "style", "textarea", "input", "select", "option", "code", "pre", "svg", "math", "noscript",
  "template", "iframe", "object", "canvas", "button", "a", "kbd", "samp", "var", "head", "title",
]);
const DIGIT = /[\p{Nd}]/u;
const root = document.documentElement;

let region = "";
let queue = []; // roots still to scan, from queueHead on (a shift() per node would cost O(n) on busy pages)
let queueHead = 0;
let walker = null; // the TreeWalker over the root being scanned
let current = null; // {node, original, prepared, pieces, index, numbers}: a text node part-way scanned
let scheduled = false;
let linked = 0;
let found = []; // [{node, original, numbers}] found but not yet in the page
let lastFlush = 0;
let warmUp = []; // first-use costs (regular expressions, metadata), paid one idle slice at a time

function editable(element) {
  // The attribute, not isContentEditable: that one makes the browser bring its style up to date on every call.
  const value = element.getAttribute("contenteditable");
  return value !== null && value.toLowerCase() !== "false";
}

function skippedElement(element) {
  return SKIPPED.has(element.localName) || editable(element) || element.classList.contains(LINK_CLASS);
}

function insideSkipped(node) {
  for (let element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement; element; element = element.parentElement) {
    if (skippedElement(element)) return true;
  }
  return false;
}

function newWalker(start) {
  return document.createTreeWalker(start, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      if (node.nodeType === Node.ELEMENT_NODE) return skippedElement(node) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_SKIP;
      return DIGIT.test(node.data) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
    },
  });
}

function nextTextNode() {
  for (;;) {
    if (walker) {
      const node = walker.nextNode();
      if (node) return node;
      walker = null;
    }
    if (queueHead >= queue.length) {
      queue = [];
      queueHead = 0;
      return null;
    }
    const next = queue[queueHead++];
    if (!next.isConnected || insideSkipped(next.nodeType === Node.TEXT_NODE ? next.parentNode : next)) continue;
    if (next.nodeType === Node.TEXT_NODE) {
      if (DIGIT.test(next.data)) return next;
      continue;
    }
    walker = newWalker(next);
  }
}

function makeLink(number, text) {
  const link = document.createElement("a");
  link.className = LINK_CLASS;
  link.href = `tel:${number.e164}`;
  link.dataset.partnercrmdNumber = number.e164;
  link.title = `Call ${number.e164}`;
  link.appendChild(text);
  return link;
}

function linkify(node, numbers) {
  for (const number of [...numbers].reverse()) {
    if (number.end > node.data.length) continue;
    node.splitText(number.end);
    const middle = node.splitText(number.start);
    const link = makeLink(number, middle.cloneNode());
    middle.replaceWith(link);
    linked++;
  }
}

function work(deadline) {
  scheduled = false;
  if (warmUp.length) {
    warmUp.shift()();
    schedule();
    return;
  }
  const budget = Math.min(BUDGET_MS, deadline && deadline.timeRemaining ? Math.max(deadline.timeRemaining(), 1) : BUDGET_MS);
  const stopAt = performance.now() + budget;
  if (found.length && performance.now() - lastFlush >= FLUSH_MS) flush(stopAt);
  let scanning = true;
  while (scanning && performance.now() < stopAt) {
    if (!current) {
      const node = nextTextNode();
      if (!node) {
        scanning = false;
        break;
      }
      const prepared = prepare(node.data);
      current = { node, original: node.data, prepared, pieces: segments(prepared.text), index: 0, numbers: [] };
    }
    const [first, last] = current.pieces[current.index++];
    current.numbers.push(...numbersInSegment(current.prepared, region, first, last));
    if (current.index >= current.pieces.length) {
      if (current.numbers.length) found.push(current);
      current = null;
    }
  }
  if (found.length && !scanning) flush(stopAt);
  if (current || walker || queueHead < queue.length || found.length) schedule();
  else idle();
}

/** Put the links found so far into the page, until `stopAt`. */
function flush(stopAt) {
  // Our own changes must not come back through the observer: deliver what is queued, change, then drop ours.
  enqueueMutations(observer.takeRecords());
  while (found.length && performance.now() < stopAt) {
    const { node, original, numbers } = found.shift();
    if (node.isConnected && node.data === original) linkify(node, numbers);
  }
  observer.takeRecords();
  lastFlush = performance.now();
}

/** Nothing left to do: say so (tests and curious users read the attribute; profilers see the mark). */
function idle() {
  root.dataset.partnercrmdLinked = String(linked);
  performance.mark("partnercrmd:idle");
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  delete root.dataset.partnercrmdLinked;
  if (typeof requestIdleCallback === "function") requestIdleCallback(work, { timeout: 500 });
  else setTimeout(work, FALLBACK_DELAY_MS);
}

function enqueueMutations(records) {
  for (const record of records) {
    if (record.type === "characterData") queue.push(record.target);
    for (const added of record.addedNodes) {
      if (added.nodeType === Node.ELEMENT_NODE || added.nodeType === Node.TEXT_NODE) queue.push(added);
    }
  }
  if (queueHead < queue.length) schedule();
}

const observer = new MutationObserver(enqueueMutations);

// --- clicks ---------------------------------------------------------------------------------------------

function destinationOf(link) {
  if (link.classList.contains(LINK_CLASS)) return link.dataset.partnercrmdNumber || "";
  const href = link.getAttribute("href") || "";
  return /^(tel|callto):/i.test(href.trim()) ? href.trim().slice(0, 256) : "";
}

let notice = null;

function showNotice(text, ok) {
  if (!notice) {
    notice = document.createElement("div");
    notice.className = "partnercrmd-notice";
    notice.setAttribute("role", "status");
    Object.assign(notice.style, {
      position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483647", maxWidth: "360px",
      padding: "10px 14px", borderRadius: "6px", font: "14px/1.4 system-ui, sans-serif",
      color: "#fff", boxShadow: "0 2px 8px rgba(0,0,0,.3)",
    });
  }
  notice.style.background = ok ? "#1b5e20" : "#b71c1c";
  notice.dataset.ok = String(ok);
  notice.textContent = text;
  (document.body || root).appendChild(notice);
  clearTimeout(notice.hideTimer);
  notice.hideTimer = setTimeout(() => notice.remove(), ok ? 3000 : 8000);
}

async function onClick(event) {
  const link = event.target instanceof Element ? event.target.closest("a") : null;
  if (!link || event.button !== 0) return;
  const destination = destinationOf(link);
  if (!destination) return;
  event.preventDefault();
  if (!event.isTrusted) return; // a page's script clicking for the user dials nothing
  event.stopPropagation();
  let answer;
  try {
    answer = await ext.runtime.sendMessage({ type: "dial", destination });
  } catch (error) {
    answer = { ok: false, message: `The extension could not be reached (${error.message}); reload the page.` };
  }
  showNotice(answer.message, answer.ok);
}

/** The host of the page the user sees: a frame is judged by the site around it (the site lists name sites). */
function siteHost() {
  if (window === window.top) return location.hostname;
  const ancestors = location.ancestorOrigins; // Chromium; Firefox has none
  if (ancestors && ancestors.length) {
    try {
      return new URL(ancestors[ancestors.length - 1]).hostname;
    } catch {
      // fall through
    }
  }
  try {
    return window.top.location.hostname; // a frame of the same origin
  } catch {
    return location.hostname; // a foreign frame in Firefox: its own host is all it can know
  }
}

async function start() {
  const settings = await readSettings();
  if (!siteAllowed(settings, siteHost()) || document.designMode === "on") {
    root.dataset.partnercrmdLinked = "off";
    return;
  }
  region = effectiveRegion(settings);
  warmUp = warmUpSteps(region);
  performance.mark("partnercrmd:start"); // when the scan began, for profilers and the tests
  document.addEventListener("click", onClick, true);
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  queue.push(document.body || root);
  schedule();
}

start();
