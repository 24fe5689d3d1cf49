// Phone numbers in one piece of page text: libphonenumber-js finds candidates, the rules below judge them.
//
// A port of the daemon's rules (partnercrmd/dialling/detect.py, lookalikes.py, number_labels.py), kept small:
// what can never be a number (addresses, dates, times, IPs, long digit runs) is blanked before the matcher
// runs; each candidate is then dropped when it touches a currency, a unit, a word or an anti-label ("Order ID"),
// and a bare digit run is only offered with evidence (a label, "+", separators, the trunk 0, the whole text).
import { findNumbers } from "libphonenumber-js/max";

export const SEGMENT = 2000; // longest piece handed to the matcher at once; longer text is cut between words

const DIGIT = /\d/;
const CANDIDATE = /\d(?:[\s().\-/]{0,3}\d){6}/; // seven digits at least, as the daemon's matcher wants
const MASKED = new RegExp(
  [
    String.raw`[^\s,;|()<>"'\[\]]*(?:://|@)[^\s,;|()<>"'\[\]]*`, // web and e-mail addresses
    String.raw`(?<![\w/])/(?=[\w\-./%~]*[A-Za-z])[\w\-./%~]+`, // paths with a letter
    String.raw`\b(?!ext=|tel|phone|mobile|cell|fax)[A-Za-z_][\w.\-]*=[^\s,;|()<>"'\[\]]*`, // key=value
    String.raw`(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)`, // IPv4 addresses
    String.raw`(?<![\d.\-/])(?:(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])` +
      String.raw`|(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|[12]\d|3[01])[-./](?:19|20)?\d\d)(?![\d]|[-./]\d)`, // dates
    String.raw`\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?!\d)`, // times
    String.raw`(?<![\d.])-?\d{1,3}\.\d{4,}(?![\d.])`, // decimals such as coordinates
    String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`, // IBAN-shaped
    String.raw`(?<![\d.,])\d{1,3}(?:(?:,\d{3})+(?:\.\d+)?|(?:\.\d{3})+,\d+|(?:[ ']\d{3})+[.,]\d{2})(?!\d)`, // amounts
    String.raw`(?<![\d.])\d+(?:\.\d+){3,}(?![\d.])`, // version strings such as 4.15.555.0132
    String.raw`\d(?:[ \-./]?\d){15,}`, // 16 digits or more: cards, tracking and account numbers
  ].join("|"),
  "g",
);

const CURRENCY = String.raw`[$€£¥₹₽₩₺₴₪฿]|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|HUF|CNY|HKD|SGD|ZAR|BRL|MXN|Rs\.?|kr\.?|R\$|zł|Fr\.)`;
const CURRENCY_BEFORE = new RegExp(`(?:${CURRENCY})\\s?$`);
const AMOUNT_AFTER = new RegExp(
  String.raw`^(?:[.,]\d{1,2}(?!\d)|\s?(?:[$€£¥₹₽₩₺₴₪฿]|(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|kr|zł|Kč|Ft|dollars?|euros?|pounds?|yen)\b))`,
);
const UNIT_AFTER = new RegExp(
  String.raw`^\s?(?:%|‰|°|(?:kg|mg|km|cm|mm|mi|ft|lbs?|oz|ml|bytes?|bits?|[KMGTP]i?B|ms|secs?|mins?|hrs?|px|pt|dpi|mAh|kWh|kW|Hz|kHz|MHz|GHz|rpm|views|likes|followers|downloads|users|visitors|votes|times|items|pcs|units|people|records|rows|words|pages|steps)\b)`,
);
const BEFORE_IN_TOKEN = new Set("#/\\=_@&?№$€£¥₹₽₩₺₴₪฿°");
const AFTER_IN_TOKEN = new Set("@_=&/\\°%‰'′″");
const WORD_CHAR = /[\p{L}\p{N}]/u;

const LABEL_WORDS = String.raw`tel|tele?phone|phone|ph|phones|mobile|mob|cell|cellphone|cellular|fax|call|call\s+us|call\s+me|ring|dial|hotline|helpline|switchboard|direct\s+line|direct\s+dial|direct|ddi|landline|office|home|work|voice|whatsapp|sms|text|toll[\s-]?free|freephone|reception|main|contact\s+number|phone\s+number|mobile\s+number|(?:my|his|her|our|their|your|new|private)\s+(?:new\s+)?(?:no|number|#)|reach\s+(?:me|us)(?:\s+(?:at|on))?|t[ée]l|t[ée]l[ée]phone|portable|fixe|standard|appelez(?:-nous)?|telefon|telefonnummer|handy|mobil|rufnummer|telefax|durchwahl|zentrale|tel[ée]fono|m[óo]vil|celular|telefone|telefono|cellulare|telefoon|mobiel|gsm|bel|tlf|тел|телефон|моб`;
const LABEL = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(?:${LABEL_WORDS})(?![\p{L}\p{N}])|☎|☏|📞|📱|✆|📠|(?<![\p{L}\p{N}.])[TtMmFfPpOoDdHhCc]\s?:`,
  "iu",
);
const ANTI_WORDS = String.raw`id|ids|ticket|case|order|invoice|inv|receipt|transaction|txn|account|acct|customer|client|member|policy|claim|serial|s/n|sn|imei|isbn|ean|upc|sku|part|item|article|model|art|roll\s+number|sort\s+code|tracking|shipment|parcel|package|po|booking|reservation|confirmation|voucher|coupon|code|pin|otp|zip|postcode|vat|tax|ssn|iban|bic|swift|routing|card|batch|lot|version|ver|build|release|rev|patent|doc|document|file|report|record|registration|reg|licen[cs]e|passport|vin|hash|ip|port|pid|uid|user|employee|student|ref|reference|job|request|incident|issue|bug|commit|contract|bestellung|rechnung|auftrag|kunde|facture|commande|r[ée]f|dossier|pedido|factura|ordine|fattura|[a-zäöüß]+(?:nummer|nr)`;
const ANTI = new RegExp(String.raw`(?<![\p{L}\p{N}])(?:${ANTI_WORDS})(?![\p{L}\p{N}])`, "iu");
const QUALIFIERS = String.raw`(?:is|are|was|lautet|ist|est|es|no|nos|nr|n|n[º°o]|num|number|numbers|nummer|num[ée]ro|n[úu]mero|#|№|id|code|ref|de|:|\.|-)`;
const ONLY_QUALIFIERS = new RegExp(String.raw`^(?:[\s:#.=\-–/(\[]|${QUALIFIERS}(?![\p{L}\p{N}]))*$`, "iu");
const LABEL_AFTER = new RegExp(String.raw`^\s*(?:[(\[]\s*|[-–/|]\s*)(?:${LABEL_WORDS}|[mwhofc])\s*[)\]]?(?![\p{L}\p{N}])`, "iu");
const WORDS = new RegExp(`${LABEL.source}|${ANTI.source}`, "giu");
const GAP = 40;
const SEPARATOR = /\d[\s\-./()]+\d|^\(/;
const EDGE = /^[\s"'.,;:<>\[\]()|]*$/;
const MAIN_PART = /^[^A-Za-z#;,]*/;

/**
 * Steps that make the first real scan fast: V8 compiles each regular expression (the label ones are big) and
 * libphonenumber reads a region's metadata on first use. Run one step per idle slice, so none blocks long.
 */
export function warmUpSteps(region) {
  const sample = "Tel: 020 7946 0958, Order ID 4155550132 on 2024-11-25 for £12.50";
  return [
    () => mask(sample),
    () => LABEL.test(sample) && LABEL_AFTER.test(sample) && CURRENCY_BEFORE.test(sample),
    () => ANTI.test(sample) && ONLY_QUALIFIERS.test(sample),
    () => [...sample.matchAll(WORDS)],
    () => AMOUNT_AFTER.test(sample) || UNIT_AFTER.test(sample) || WORD_CHAR.test(sample),
    () => findNumbers("+44 20 7946 0958", { v2: true, leniency: "VALID" }),
    () => region && findNumbers(sample, { defaultCountry: region, v2: true, leniency: "VALID" }),
    () => findPhoneNumbers(sample, region),
  ];
}

/** `text` with Unicode digits, spaces and dashes made ASCII at the same offsets (what the matcher reads). */
export function normalise(text) {
  return text
    .replace(/[\u00a0\u2000-\u200a\u202f\u205f\u3000]/g, " ")
    .replace(/[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]/g, "-")
    .replace(/[\uff10-\uff19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/[\u0660-\u0669]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0x0660 + 48))
    .replace(/[\u0966-\u096f]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0x0966 + 48))
    .replace(/\uff0b/g, "+");
}

/** `text` with what can never be a phone number blanked out (same length), so the matcher need not try it. */
export function mask(text) {
  return text.replace(MASKED, (found) => " ".repeat(found.length));
}

/** [start, end) pieces of `text` of at most SEGMENT characters, cut at line ends or between words. */
export function segments(text) {
  const pieces = [];
  let start = 0;
  while (text.length - start > SEGMENT) {
    let cut = -1;
    const window = text.slice(start + SEGMENT / 2, start + SEGMENT);
    const safe = /(?<=[^\d\s])\s+(?=[^\W\d_])|\n/g;
    for (let m = safe.exec(window); m; m = safe.exec(window)) cut = start + SEGMENT / 2 + m.index + m[0].length;
    if (cut <= start) cut = start + SEGMENT;
    pieces.push([start, cut]);
    start = cut;
  }
  pieces.push([start, text.length]);
  return pieces;
}

function lookalike(text, start, end) {
  const before = text.slice(Math.max(0, start - 48), start);
  const after = text.slice(end, end + 48);
  const last = before.slice(-1);
  const first = after.slice(0, 1);
  if ((last && (WORD_CHAR.test(last) || BEFORE_IN_TOKEN.has(last))) || (first && (WORD_CHAR.test(first) || AFTER_IN_TOKEN.has(first)))) {
    return "part of a word, address or code";
  }
  if (/^:\d/.test(after) || /\d:$/.test(before)) return "time or ratio";
  if (CURRENCY_BEFORE.test(before) || AMOUNT_AFTER.test(after)) return "price or amount";
  if (UNIT_AFTER.test(after)) return "quantity with a unit";
  if (/\d[ \-./]?$/.test(before) && text[start] !== "+" && text[start] !== "(") return "part of a longer number";
  if (/^[ \-./]?\d/.test(after)) return "part of a longer number";
  return null;
}

/** What the text before a candidate says: "label", "anti" or "" (the nearest word wins). */
function context(text, start) {
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  let before = text.slice(Math.max(lineStart, start - GAP), start);
  const lastDigit = before.search(/\d[^\d]*$/);
  if (lastDigit >= 0) before = before.slice(lastDigit + 1);
  const words = [...before.matchAll(WORDS)];
  if (words.length === 0) return "";
  const nearest = words[words.length - 1];
  const rest = before.slice(nearest.index + nearest[0].length);
  if (ANTI.test(nearest[0]) && !LABEL.test(nearest[0])) return ONLY_QUALIFIERS.test(rest) ? "anti" : "";
  return "label";
}

/** The page text and its normalised form (same offsets), prepared once for every segment of it. */
export function prepare(original) {
  return { original, text: normalise(original) };
}

/** Numbers that start in text[first, last) of a prepared text: [{start, end, raw, e164, extension}]. */
export function numbersInSegment(prepared, region, first, last) {
  const { original, text } = prepared;
  const piece = text.slice(first, last);
  if (!DIGIT.test(piece)) return [];
  const masked = mask(piece);
  if (!CANDIDATE.test(masked)) return []; // most text: the matcher would allocate a lot to find nothing
  const options = { v2: true, leniency: "VALID" };
  if (region) options.defaultCountry = region;
  let matches;
  try {
    matches = findNumbers(masked, options);
  } catch {
    return []; // an unknown region: nothing can be found with it
  }
  const found = [];
  for (const match of matches) {
    let start = first + match.startsAt;
    const end = first + match.endsAt;
    while (start < end && (text[start] === "[" || (text[start] === "(" && !text.slice(start, end).includes(")")))) start++;
    if (accept(text, start, end)) {
      found.push({ start, end, raw: original.slice(start, end), e164: match.number.number, extension: match.number.ext || "" });
    }
  }
  return found;
}

/** Every phone number in `original`, in order, judged in context (region: ISO 3166 code or "" for "+" only). */
export function findPhoneNumbers(original, region) {
  if (!/[\p{Nd}]/u.test(original)) return [];
  const prepared = prepare(original);
  return segments(prepared.text).flatMap(([first, last]) => numbersInSegment(prepared, region, first, last));
}

function accept(text, start, end) {
  if (lookalike(text, start, end)) return false;
  const said = context(text, start);
  if (said === "anti") return false;
  if (said === "label" || LABEL_AFTER.test(text.slice(end, end + 24))) return true;
  const written = (text.slice(start, end).match(MAIN_PART) || [""])[0].trim();
  if (written.startsWith("+") || written.startsWith("00")) return true;
  if (SEPARATOR.test(written)) return true;
  if (EDGE.test(text.slice(0, start)) && EDGE.test(text.slice(end))) return true;
  const digits = written.replace(/\D/g, "");
  return written.startsWith("0") && digits.length >= 9 && digits.length <= 11;
}
