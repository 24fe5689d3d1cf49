// Content script: turns phone numbers in page text into links that dial through the partnercrmd daemon.
//
// It walks text nodes (a TreeWalker), skipping scripts, styles, form fields, code, SVG, editable regions and
// existing links, and enters open shadow roots; text split across inline elements (<span>020</span> <b>7946</b>)
// is read as the one run of text the user sees. It works in idle time in slices of at most BUDGET_MS so a huge
// page never freezes; a MutationObserver queues content added later. Links are built with DOM APIs only (a
// number split across elements gets one link per piece). Clicking one (or an existing tel:/callto: link) asks
// the service worker to POST Dial; the daemon tells the phone client.
import { numbersInSegment, prepare, segments, warmUpSteps } from "./detect.js";
import { effectiveRegion, ext, originOf, readSettings, siteAllowed } from "./settings.js";

const BUDGET_MS = 4; // work per slice; far below the 50 ms that counts as a long task
const FLUSH_MS = 1000; // links found are put into the page at most this often (and when the scan ends):
// every DOM change makes the browser lay out and paint again, which on a huge page costs more than the scan
const FALLBACK_DELAY_MS = 16; // without requestIdleCallback: a timer between slices
const LINK_CLASS = "partnercrmd-dial";
const PART_CLASS = "partnercrmd-dial-part"; // the further pieces of a number split across elements
const RUN_NODES = 64; // a run of inline text is read as one text up to this many text nodes
const SKIPPED = new Set([
  "script", "style", "textarea", "input", "select", "option", "code", "pre", "svg", "math", "noscript",
  "template", "iframe", "object", "canvas", "button", "a", "kbd", "samp", "var", "head", "title",
]);
// Elements that flow inside a line: text across them reads as one (anything else ends a run).
const INLINE = new Set([
  "span", "b", "strong", "i", "em", "u", "s", "small", "big", "font", "sub", "sup", "abbr", "cite", "mark",
  "label", "time", "q", "bdi", "bdo", "data", "dfn", "ins", "del", "nobr", "tt",
]);
const DIGIT = /[\p{Nd}]/u;
const root = document.documentElement;

let region = "";
let queue = []; // roots still to scan, from queueHead on (a shift() per node would cost O(n) on busy pages)
let queueHead = 0;
let walker = null; // the TreeWalker over the root being scanned
let current = null; // {unit, prepared, pieces, index, numbers}: a run of text part-way scanned
let scheduled = false;
let linked = 0;
const watchedShadows = new WeakSet(); // open shadow roots being watched (each once)
const scanned = new WeakSet(); // text nodes already read as part of a run (not read again on their own)
let found = []; // [{node, original, numbers}] found but not yet in the page
let lastFlush = 0;
let warmUp = []; // first-use costs (regular expressions, metadata), paid one idle slice at a time

function editable(element) {
  // The attribute, not isContentEditable: that one makes the browser bring its style up to date on every call.
  const value = element.getAttribute("contenteditable");
  return value !== null && value.toLowerCase() !== "false";
}

function skippedElement(element) {
  return (
    SKIPPED.has(element.localName) ||
    editable(element) ||
    element.classList.contains(LINK_CLASS) ||
    element.classList.contains(PART_CLASS)
  );
}

/** An open shadow root below `element` is scanned and watched like the document (closed ones cannot be seen). */
function enterShadow(element) {
  const shadow = element.shadowRoot;
  if (!shadow || watchedShadows.has(shadow)) return;
  watchedShadows.add(shadow);
  observer.observe(shadow, { childList: true, subtree: true, characterData: true });
  queue.push(shadow);
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
      if (node.nodeType === Node.ELEMENT_NODE) {
        if (skippedElement(node)) return NodeFilter.FILTER_REJECT;
        if (node.shadowRoot) enterShadow(node);
        return NodeFilter.FILTER_SKIP;
      }
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
    if (!next.isConnected) continue;
    if (next.nodeType === Node.ELEMENT_NODE && next.shadowRoot) enterShadow(next);
    if (next.nodeType !== Node.DOCUMENT_FRAGMENT_NODE && insideSkipped(next.nodeType === Node.TEXT_NODE ? next.parentNode : next)) continue;
    if (next.nodeType === Node.TEXT_NODE) {
      if (DIGIT.test(next.data)) return next;
      continue;
    }
    walker = newWalker(next);
  }
}

function makeLink(number, text, part = false) {
  const link = document.createElement("a");
  link.className = part ? PART_CLASS : LINK_CLASS;
  link.href = `tel:${number.e164}`;
  link.dataset.partnercrmdNumber = number.e164;
  link.title = `Call ${number.e164}`;
  link.appendChild(text);
  return link;
}

/** The element whose box holds the run of inline text `node` is in (a block, a cell, a shadow root). */
function blockOf(node) {
  let container = node.parentNode;
  while (container && container.nodeType === Node.ELEMENT_NODE && INLINE.has(container.localName)) {
    container = container.parentNode;
  }
  return container;
}

/** Whether the walk of a run may go through `node`: text, or an inline element that is not skipped. */
function inRun(node) {
  if (node.nodeType === Node.TEXT_NODE) return true;
  return node.nodeType === Node.ELEMENT_NODE && INLINE.has(node.localName) && !skippedElement(node) && !node.shadowRoot;
}

/** Whether `node` is inside a skipped element (a link, code…) or a non-inline element below `block`. */
function inSkippedBelow(node, block) {
  for (let element = node.parentNode; element && element !== block; element = element.parentNode) {
    if (element.nodeType !== Node.ELEMENT_NODE || !inRun(element)) return true;
  }
  return false;
}

/** The text nodes read together with `node`: its run of text across inline elements, in order. */
function runAround(node) {
  const block = blockOf(node);
  if (!block) return [node];
  const walk = document.createTreeWalker(block, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  const before = [];
  walk.currentNode = node;
  for (let previous = walk.previousNode(); previous && previous !== block && before.length < RUN_NODES; previous = walk.previousNode()) {
    if (previous.nodeType === Node.ELEMENT_NODE && previous.contains(node)) continue; // an inline parent
    if (!inRun(previous) || inSkippedBelow(previous, block)) break; // walking back, text comes before its element
    if (previous.nodeType === Node.TEXT_NODE) before.unshift(previous);
  }
  const nodes = [...before, node];
  walk.currentNode = node;
  for (let next = walk.nextNode(); next && nodes.length < RUN_NODES; next = walk.nextNode()) {
    if (!inRun(next)) break;
    if (next.nodeType === Node.TEXT_NODE) nodes.push(next);
  }
  return nodes;
}

/** A scan unit: the text nodes of a run, their joined text and where each starts in it. */
function unitOf(node) {
  const nodes = node.parentNode && node.parentNode.nodeType === Node.ELEMENT_NODE ? runAround(node) : [node];
  const originals = nodes.map((n) => n.data);
  const starts = [];
  let length = 0;
  for (const data of originals) {
    starts.push(length);
    length += data.length;
  }
  return { nodes, originals, starts, text: originals.join("") };
}

function linkify(unit, numbers) {
  const { nodes, starts } = unit;
  for (const number of [...numbers].reverse()) {
    // The pieces of the number in each text node, last first, so earlier offsets stay valid.
    for (let i = nodes.length - 1; i >= 0; i--) {
      const first = Math.max(number.start, starts[i]) - starts[i];
      const last = Math.min(number.end, starts[i] + unit.originals[i].length) - starts[i];
      if (last <= first) continue;
      const node = nodes[i];
      if (last > node.data.length) continue;
      node.splitText(last);
      const middle = node.splitText(first);
      middle.replaceWith(makeLink(number, middle.cloneNode(), starts[i] > number.start));
    }
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
      if (scanned.has(node)) continue;
      const unit = unitOf(node);
      for (const part of unit.nodes) scanned.add(part);
      const prepared = prepare(unit.text);
      current = { unit, prepared, pieces: segments(prepared.text), index: 0, numbers: [] };
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
    const { unit, numbers } = found.shift();
    if (unit.nodes.every((node, i) => node.isConnected && node.data === unit.originals[i])) linkify(unit, numbers);
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
    if (record.type === "characterData") {
      scanned.delete(record.target); // changed text is read again, with its run
      queue.push(record.target);
    }
    for (const added of record.addedNodes) {
      if (added.nodeType === Node.TEXT_NODE) scanned.delete(added); // moved text is read where it is now
      if (added.nodeType === Node.ELEMENT_NODE || added.nodeType === Node.TEXT_NODE) queue.push(added);
    }
  }
  if (queueHead < queue.length) schedule();
}

const observer = new MutationObserver(enqueueMutations);

// --- clicks ---------------------------------------------------------------------------------------------

function destinationOf(link) {
  if (link.classList.contains(LINK_CLASS) || link.classList.contains(PART_CLASS)) return link.dataset.partnercrmdNumber || "";
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
  const target = event.composedPath()[0]; // inside an open shadow root, event.target is only its host
  const link = target instanceof Element ? target.closest("a") : null;
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

/** The address of the page the user sees: a frame is judged by the site around it (the site lists name sites). */
function siteUrl() {
  if (window === window.top) return location.href;
  const ancestors = location.ancestorOrigins; // Chromium, and Firefox ESR 153 (older Firefox: none)
  if (ancestors && ancestors.length) return ancestors[ancestors.length - 1];
  try {
    return window.top.location.href; // a frame of the same origin
  } catch {
    return location.href; // a foreign frame in Firefox: its own address is all it can know
  }
}

function siteHost() {
  try {
    return new URL(siteUrl()).hostname;
  } catch {
    return location.hostname;
  }
}

async function start() {
  const settings = await readSettings();
  if (!siteAllowed(settings, siteHost(), originOf(siteUrl())) || document.designMode === "on") {
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
