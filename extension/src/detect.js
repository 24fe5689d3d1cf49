// Phone numbers in one piece of page text: the daemon's detector (partnercrmd/dialling/detect.py, lookalikes.py,
// number_labels.py) in JavaScript, rule for rule, so both are measured on one corpus (tests/data/
// detection_corpus.json) and held to the same precision and recall.
//
// Candidates come from libphonenumber-js's matcher at VALID leniency, line by line, from tel:/callto:/sip: URIs
// and from North American vanity numbers (1-800-FLOWERS). What can never be a number (addresses, dates, times,
// IPs, long digit runs) is blanked before the matcher runs; each candidate is then dropped when it is something
// else (a date, a price, a card, part of a word or a longer number) or an anti-label names it ("Order ID"), and
// a bare digit run is only offered with evidence (a label before it, in its CSV column or on the line above; a
// label after it; "+" or an international prefix; separators; the trunk 0; being the whole text).
import { findNumbers, parsePhoneNumberFromString } from "libphonenumber-js/max";

export const SEGMENT = 2000; // longest piece of one line handed to the matcher at once; cut between words

const U = "u";
const NOT_WORD_BEFORE = String.raw`(?<![\p{L}\p{N}_])`;
const NOT_WORD_AFTER = String.raw`(?![\p{L}\p{N}_])`;
const DIGIT = /\d/;
const CANDIDATE = /\d(?:[\s().\-/]{0,3}\d){6}/; // seven digits at least, as the matcher wants

// --- text preparation (detect.normalise) ---------------------------------------------------------------------

const SPACES = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u200b\u200c\u200d\u2060\ufeff\u00ad]/g;
const DASHES = /[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]/g;
const WIDE_PUNCTUATION = { "＋": "+", "（": "(", "）": ")", "．": ".", "／": "/", "＃": "#", "：": ":", "·": "." };
const UNICODE_DIGIT = /\p{Nd}/gu;

/** The value of a BMP decimal digit: digits come in runs of ten from a zero. */
function digitValue(char) {
  const code = char.codePointAt(0);
  if (code > 0xffff) return char; // astral digits stay (one code point is two UTF-16 units: offsets must not move)
  let zero = code;
  while (zero > code - 9 && /\p{Nd}/u.test(String.fromCharCode(zero - 1))) zero--;
  return String(code - zero);
}

/** `text` with Unicode digits, spaces, dashes and full-width punctuation made ASCII, at the same offsets. */
export function normalise(text) {
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return text
    .replace(SPACES, " ")
    .replace(DASHES, "-")
    .replace(/[＋（）．／＃：·]/g, (c) => WIDE_PUNCTUATION[c])
    .replace(/[\uff21-\uff3a]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(UNICODE_DIGIT, (d) => (d >= "0" && d <= "9" ? d : digitValue(d)));
}

// --- lookalikes (lookalikes.py) ------------------------------------------------------------------------------------

const WINDOW = 48;
const JOINERS = " -./";
const BEFORE_IN_TOKEN = new Set("#/\\=_@&?№$€£¥₹₽₩₺₴₪฿°");
const AFTER_IN_TOKEN = new Set("@_=&/\\°%‰'′″");
const CURRENCY_BEFORE = new RegExp(
  String.raw`(?:[$€£¥₹₽₩₺₴₪฿]|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|HUF|RUB|CNY|HKD|SGD|ZAR|BRL|MXN` +
    String.raw`|Rs\.?|kr\.?|R\$|zł|Fr\.|SFr\.?))\s?$`,
);
const AFTER_AMOUNT = new RegExp(
  String.raw`^(?:[.,]\d{1,2}(?!\d)|\s?(?:[$€£¥₹₽₩₺₴₪฿]|(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|HUF|RUB` +
    String.raw`|CNY|HKD|SGD|ZAR|BRL|MXN|kr|zł|Kč|Ft|dollars?|euros?|pounds?|yen)\b))`,
);
const UNIT_AFTER = new RegExp(
  String.raw`^\s?(?:%|‰|°|(?:kg|mg|km|cm|mm|mi|ft|lbs?|oz|ml|bytes?|bits?|[KMGTP]i?B|ms|µs|ns|secs?|mins?|hrs?|px|pt|dpi` +
    String.raw`|mAh|kWh|kW|Hz|kHz|MHz|GHz|rpm|views|likes|followers|downloads|users|visitors|votes|times|items|pcs|units` +
    String.raw`|people|records|rows|words|pages|steps)\b)`,
);
const DATE_YMD = /(?<![\d.\-/])(?:1[89]|20)\d\d([-./])(0?[1-9]|1[0-2])\1(0?[1-9]|[12]\d|3[01])(?![\d]|[-./]\d)/g;
const DATE_DMY = /(?<![\d.\-/])(\d{1,2})([-./])(\d{1,2})\2((?:1[89]|20)?\d\d)(?!\d|[-./]\d)/g;
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)/g;
const COORDINATES = /-?\d{1,3}\.\d{3,}\s*°?\s*[NSns]?\s*[,;]\s*-?\d{1,3}\.\d{3,}/g;
const AMOUNT = /(?<![\d.,])\d{1,3}(?:(?:,\d{3})+(?:\.\d+)?|(?:\.\d{3})+,\d+|(?:[ ']\d{3})+[.,]\d{2})(?![\d])/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g;
const ISBN = /(?<![\d-])(?:97[89](?:[- ]?\d){10}|\d{1,5}-\d{1,7}-\d{1,7}-[\dX])(?![\d-]|[ ]\d)/g;
const DOTTED = /^\d+(?:\.\d+){3,}$/;
const SSN = /(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g;

const MASKED = new RegExp(
  [
    String.raw`[^\s,;|()<>"'\[\]]*(?:://|@)[^\s,;|()<>"'\[\]]*`, // web and e-mail addresses
    String.raw`(?<![\w/])/(?=[\w\-./%~]*[A-Za-z])[\w\-./%~]+`, // paths with a letter
    String.raw`\b(?!ext=|tel|phone|mobile|cell|fax)[A-Za-z_][\w.\-]*=[^\s,;|()<>"'\[\]]*`, // key=value
    String.raw`(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)`, // IPv4 addresses
    String.raw`(?<![\d.\-/])(?:(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])` +
      String.raw`|(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|[12]\d|3[01])[-./](?:19|20)\d\d)(?![\d]|[-./]\d)`, // dates
    String.raw`\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?!\d)`, // times
    String.raw`(?<![\d.])-?\d{1,3}\.\d{4,}(?![\d.])`, // decimals such as coordinates
    String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`, // IBAN-shaped
    String.raw`\d(?:[ \-./]?\d){15,}`, // 16 digits or more: cards, tracking and account numbers
  ].join("|"),
  "g",
);

/** `text` with what can never be a phone number blanked out (same length), so the matcher need not try it. */
export function mask(text) {
  return DIGIT.test(text) ? text.replace(MASKED, (found) => " ".repeat(found.length)) : text;
}

/** Letters and digits of scripts written with spaces between words (CJK and Thai text runs on without). */
function wordChar(char) {
  return /\p{N}/u.test(char) || (/\p{L}/u.test(char) && char < "\u0530");
}

function luhn(digits) {
  let total = 0;
  digits.reverse().forEach((digit, position) => {
    let value = digit;
    if (position % 2) {
      value *= 2;
      if (value > 9) value -= 9;
    }
    total += value;
  });
  return total % 10 === 0;
}

function joined(text, index, step) {
  const beyond = index + step;
  return DIGIT.test(text[index]) || (JOINERS.includes(text[index]) && beyond >= 0 && beyond < text.length && DIGIT.test(text[beyond]));
}

function longerNumber(text, start, end) {
  let first = start;
  let last = end;
  const explicitStart = "+(".includes(text[start]);
  while (!explicitStart && first > 0 && joined(text, first - 1, -1)) first--;
  while (last < text.length && joined(text, last, 1)) last++;
  if (first === start && last === end) return null;
  const digits = [...text.slice(first, last)].filter((c) => DIGIT.test(c)).map(Number);
  if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) return "card number";
  return "part of a longer number";
}

const always = () => true;
const realDate = (m) => {
  const a = Number(m[1]);
  const b = Number(m[3]);
  return (a >= 1 && a <= 31 && b >= 1 && b <= 12) || (a >= 1 && a <= 12 && b >= 1 && b <= 31);
};
const realIp = (m) => m[0].split(".").every((part) => Number(part) <= 255);
function realIban(m) {
  const compact = m[0].replace(/ /g, "");
  if (compact.length < 15 || compact.length > 34) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const c of rearranged) {
    for (const d of String(parseInt(c, 36))) remainder = (remainder * 10 + Number(d)) % 97;
  }
  return remainder === 1;
}
function realIsbn(m) {
  const raw = m[0];
  const chars = [...raw].filter((c) => DIGIT.test(c) || c === "X");
  if (chars.length === 13 && !chars.includes("X") && ["978", "979"].includes(raw.slice(0, 3))) {
    return chars.reduce((t, c, i) => t + Number(c) * (i % 2 ? 3 : 1), 0) % 10 === 0;
  }
  if (chars.length === 10) return chars.reduce((t, c, i) => t + (10 - i) * (c === "X" ? 10 : Number(c)), 0) % 11 === 0;
  return false;
}

const SHAPES = [
  [DATE_YMD, "date", always],
  [DATE_DMY, "date", realDate],
  [IPV4, "IP address", realIp],
  [COORDINATES, "coordinates", always],
  [AMOUNT, "price or amount", always],
  [IBAN, "IBAN", realIban],
  [ISBN, "ISBN", realIsbn],
  [SSN, "social security number", always],
];

/** Why text[start, end) is not a phone number (a short reason), or null when nothing speaks against it. */
export function lookalike(text, start, end, countryCode) {
  const before = text.slice(Math.max(0, start - WINDOW), start);
  const after = text.slice(end, end + WINDOW);
  const last = before.slice(-1);
  const first = after.slice(0, 1);
  if ((last && (wordChar(last) || BEFORE_IN_TOKEN.has(last))) || (first && (wordChar(first) || AFTER_IN_TOKEN.has(first)))) {
    return "part of a word, URL, e-mail address or code";
  }
  if (/^:\d/.test(after) || /\d:$/.test(before)) return "time or ratio";
  if (CURRENCY_BEFORE.test(before) || AFTER_AMOUNT.test(after)) return "price or amount";
  if (UNIT_AFTER.test(after)) return "quantity with a unit";
  const longer = longerNumber(text, start, end);
  if (longer) return longer;
  const windowStart = Math.max(0, start - WINDOW);
  const window = text.slice(windowStart, end + WINDOW);
  for (const [pattern, reason, valid] of SHAPES) {
    for (const shape of window.matchAll(pattern)) {
      if (shape.index + windowStart < end && shape.index + shape[0].length + windowStart > start && valid(shape)) return reason;
    }
  }
  const dotted = text.slice(start, end);
  if (DOTTED.test(dotted)) {
    const head = dotted.split(".", 1)[0];
    if (!head.startsWith("0") && head !== String(countryCode)) return "version string";
  }
  return null;
}

// --- labels (number_labels.py) --------------------------------------------------------------------------------------

const LABEL_WORDS =
  // English
  String.raw`tel|tele?phone|phone|ph|phones|mobile|mob|cell|cellphone|cell\s?phone|cellular|fax|facsimile|call|call\s+us` +
  String.raw`|call\s+me|calling|ring|dial|hotline|helpline|switchboard|direct\s+line|direct\s+dial|direct|ddi|landline` +
  String.raw`|office|home|work|voice|voicemail|whatsapp|signal|sms|text|txt|toll[\s-]?free|freephone|reception|main\s+line` +
  String.raw`|contact\s+number|phone\s+number|mobile\s+number|caller\s+id` +
  String.raw`|(?:my|his|her|our|their|your|new|direct|private)\s+(?:new\s+)?(?:no|number|#)|reach\s+(?:me|us)(?:\s+(?:at|on))?` +
  // French
  String.raw`|t[ée]l|t[ée]l[ée]phone|portable|fixe|standard|appelez(?:-nous)?|joindre|num[ée]ro\s+de\s+t[ée]l[ée]phone` +
  // German
  String.raw`|telefon|telefonnummer|telefonnr|tel\.?-?nr|handy|handynummer|mobil|mobilnummer|mobilfunk|rufnummer|faxnummer|faxnr|handynr|mobilnr` +
  String.raw`|telefax|durchwahl|zentrale|anrufen|erreichbar` +
  // Spanish, Portuguese, Italian
  String.raw`|tel[ée]fono|m[óo]vil|celular|cel|fijo|ll[áa]ma(?:me|nos)|ll[áa]me(?:nos)?|llamar|telefone|telem[óo]vel|liga|ligue` +
  String.raw`|telefono|cellulare|chiama(?:ci|re)?|numero\s+di\s+telefono` +
  // Dutch, Scandinavian, Polish, Czech, Turkish, Russian
  String.raw`|telefoon|mobiel|gsm|bel|tlf|puh|puhelin|matkapuhelin|mobiltelefon|ring\s+oss|kom|kom[óo]rka|tel\.?\s?kom|cep|тел|телефон|моб` +
  String.raw`|мобильный|факс`;
const LABEL_SYMBOLS = String.raw`☎|☏|📞|📱|✆|📠|電話|电话|携帯|手机|手機|傳真|传真`;
const SINGLE_LETTER = String.raw`(?<![\p{L}\p{N}_.])[TtMmFfPpOoDdHhCc]\s?:`;
const ANTI_WORDS =
  String.raw`id|ids|ident|ticket|case|order|orders|invoice|inv|receipt|transaction|txn|trans|account|acct|acc|customer` +
  String.raw`|client|member|membership|policy|claim|serial|s/n|sn|imei|isbn|issn|ean|upc|gtin|sku|part|item|article|art` +
  String.raw`|model|tracking|track|shipment|consignment|parcel|package|awb|waybill|po|p\.o|purchase\s+order|booking` +
  String.raw`|reservation|confirmation|pnr|voucher|coupon|code|pin|otp|passcode|password|zip|postcode|postal\s+code|plz` +
  String.raw`|vat|tax|tin|ein|ssn|nin|nino|iban|bic|swift|sort\s+code|routing|aba|card|batch|lot|version|ver|build|release` +
  String.raw`|rev|revision|firmware|patent|doc|document|file|report|record|registration|reg|licen[cs]e|permit|passport` +
  String.raw`|vin|hash|checksum|ip|port|pid|uid|user|employee|student|badge|seat|ref|reference|job|request|req|incident` +
  String.raw`|issue|bug|pr|commit|isin|cusip|duns|abn|acn|gst|cvr|kvk|siret|siren|nif|cif|dni|nie|rfc|cpf|cnpj|aadhaar` +
  String.raw`|contract|vertrag|contrat|contrato|contratto|sinistre|schaden|mandat|mandate` +
  String.raw`|bestellung|rechnung|auftrag|vorgang|referenz|konto|kunde|aktenzeichen|az|ust-?idnr|steuer-?id` +
  String.raw`|facture|commande|r[ée]f[ée]rence|r[ée]f|dossier|colis|compte|client|n°\s?client` +
  String.raw`|pedido|factura|referencia|cuenta|expediente|env[íi]o|ordine|fattura|riferimento|pratica|conto` +
  String.raw`|codice\s+fiscale|p\.?\s?iva|partita\s+iva|bestelling|factuur|klantnummer|referentie|zending` +
  String.raw`|btw|tva|mwst|ust|org\.?\s?nr|cvr|ičo|ico|nip|regon|pesel|kvk|abn|cnpj|cpf|gstin|pan` +
  String.raw`|[a-zäöüß]+(?:nummer|nr)` +
  // Not in the daemon's list: its matcher (Python) never offers these candidates; libphonenumber-js's does.
  String.raw`|roll\s+number`;
const QUALIFIERS =
  String.raw`(?:is|are|was|lautet|ist|est|es|è|är|er` +
  String.raw`|no|nos|nr|n|n[º°o]|num|number|numbers|nummer|num[ée]ro|n[úu]mero|numero|#|№|id|code|ref|de|:|\.|-)`;

const LABEL = new RegExp(`${NOT_WORD_BEFORE}(?:${LABEL_WORDS})${NOT_WORD_AFTER}|${LABEL_SYMBOLS}|${SINGLE_LETTER}`, `gi${U}`);
const ANTI = new RegExp(`${NOT_WORD_BEFORE}(?:${ANTI_WORDS})${NOT_WORD_AFTER}`, `gi${U}`);
const ONLY_QUALIFIERS = new RegExp(String.raw`^(?:[\s:#.=\-–/(\[]|${QUALIFIERS}${NOT_WORD_AFTER})*$`, `i${U}`);
const LABEL_AFTER = new RegExp(String.raw`^\s*(?:[(\[]\s*|[-–/|]\s*)(?:${LABEL_WORDS}|[mwhofc])\s*[)\]]?${NOT_WORD_AFTER}`, `i${U}`);
const NOTE = /\([^()]{0,30}\)/g;
const GAP = 40;
const DELIMITERS = [",", ";", "\t", "|"];

const matches = (pattern, text) => [...text.matchAll(pattern)];
const overlaps = (a, b) => a.index < b.index + b[0].length && b.index < a.index + a[0].length;
const NONE = ["none", ""];

/** What the text just before a candidate says: ["label" | "anti" | "none", the word that says so]. */
function contextBefore(before) {
  const labels = matches(LABEL, before);
  const antis = matches(ANTI, before).filter((m) => !labels.some((label) => overlaps(m, label)));
  const lastAnti = antis[antis.length - 1];
  if (lastAnti && ONLY_QUALIFIERS.test(before.slice(lastAnti.index + lastAnti[0].length))) return ["anti", lastAnti[0]];
  const lastLabel = labels[labels.length - 1];
  if (lastLabel && (!lastAnti || lastLabel.index > lastAnti.index)) return ["label", lastLabel[0]];
  return NONE;
}

/** What a line ending in a label ("Phone:", "Order no.") says about the number starting the next line. */
function contextOfHeading(line) {
  if (DELIMITERS.some((d) => line.includes(d))) return NONE;
  const [context, word] = contextBefore(line);
  if (context === "none") return NONE;
  const ends = matches(context === "label" ? LABEL : ANTI, line).map((m) => m.index + m[0].length);
  if (!ends.length || !ONLY_QUALIFIERS.test(line.slice(ends[ends.length - 1]).replace(NOTE, ""))) return NONE;
  return [context, word];
}

function splitCount(text, delimiter) {
  let count = 0;
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (char === delimiter && !quoted) count++;
  }
  return count;
}

/** The column names of a CSV-like block's first line, or null when it is not a header (fields, no numbers, a label). */
function csvColumns(firstLine) {
  const first = firstLine.slice(0, 2000);
  const counts = Object.fromEntries(DELIMITERS.map((d) => [d, first.split(d).length - 1]));
  const delimiter = DELIMITERS.reduce((best, d) => (counts[d] > counts[best] ? d : best), DELIMITERS[0]);
  const digits = [...first].filter((c) => DIGIT.test(c)).length;
  if (counts[delimiter] === 0 || digits > 3 * counts[delimiter]) return null;
  const names = first.split(delimiter).map((name) => name.trim().replace(/^"+|"+$/g, "").trim());
  const test = (pattern, name) => new RegExp(pattern.source, pattern.flags.replace("g", "")).test(name);
  if (!names.some((name) => test(LABEL, name) || test(ANTI, name))) return null;
  return {
    context(line, offset) {
      if (splitCount(line, delimiter) !== names.length - 1) return NONE;
      const name = names[splitCount(line.slice(0, offset), delimiter)];
      if (test(LABEL, name)) return ["label", name];
      if (test(ANTI, name)) return ["anti", name];
      return NONE;
    },
  };
}

function afterLastDigit(text) {
  const last = text.search(/\d[^\d]*$/);
  return last >= 0 ? text.slice(last + 1) : text;
}

// --- judging candidates (detect._Judge) --------------------------------------------------------------------------

const MAIN_PART = /^[^A-Za-z#;,]*/;
const SEPARATOR = /\d[\s\-./()]+\d|^\(/;
const EDGE = /^[\s"'.,;:<>\[\]()]*$/;
const EXTENSION_WORD = /^\s*[,;]?\s*(?:poste|interno|int\.|ramal|toestel|tst\.|wew\.|lok\.|anexo|app\.)\s*[.:]?\s*(\d{1,6})(?!\d)/i;

/** Labels before the candidate at `start`: on its line, in its CSV column, or the line before if it starts a line. */
function contextOf(prepared, start) {
  const { text } = prepared;
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const before = afterLastDigit(text.slice(Math.max(lineStart, start - GAP), start));
  const said = contextBefore(before);
  if (said[0] !== "none") return said;
  const columns = columnsOf(prepared, lineStart);
  if (columns) {
    const lineEnd = text.indexOf("\n", start);
    const column = columns.context(text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd), start - lineStart);
    if (column[0] !== "none") return column;
  }
  if (!before.trim() && lineStart > 0) {
    return contextOfHeading(afterLastDigit(text.slice(Math.max(0, lineStart - 1 - GAP), lineStart - 1)));
  }
  return NONE;
}

/** The CSV header of the block (text between blank lines) holding the line at `lineStart`, read once a block. */
function columnsOf(prepared, lineStart) {
  const { text } = prepared;
  if (!prepared.blocks) {
    prepared.blocks = [0, ...[...text.matchAll(/\n[ \t\r]*\n/g)].map((m) => m.index + m[0].length)];
    prepared.headers = new Map();
  }
  let blockStart = 0;
  for (const start of prepared.blocks) if (start <= lineStart) blockStart = start;
  if (!prepared.headers.has(blockStart)) {
    const headerEnd = text.indexOf("\n", blockStart);
    prepared.headers.set(blockStart, csvColumns(text.slice(blockStart, headerEnd < 0 ? text.length : headerEnd).trim()));
  }
  return prepared.headers.get(blockStart);
}

function international(written, region) {
  if (written.startsWith("+")) return true;
  const digits = written.replace(/\D/g, "");
  return (digits.startsWith("00") && !digits.startsWith("000")) || (NORTH_AMERICAN.has(region) && digits.startsWith("011"));
}

/** The evidence that the candidate text[start, end) is a phone number, or null (the daemon's _Judge). */
function evidence(prepared, region, start, end, countryCode) {
  const { text } = prepared;
  if (lookalike(text, start, end, countryCode)) return null;
  const [said] = contextOf(prepared, start);
  if (said === "anti") return null;
  if (said === "label" || LABEL_AFTER.test(text.slice(end, end + 24))) return "label";
  const written = (text.slice(start, end).match(MAIN_PART) || [""])[0].trim();
  if (international(written, region)) return "international";
  if (SEPARATOR.test(written)) return "formatted";
  if (EDGE.test(text.slice(0, start)) && EDGE.test(text.slice(end))) return "whole text";
  if (written.startsWith("0") && !written.startsWith("00") && written.length >= 9 && written.length <= 11) return "trunk prefix";
  return null;
}

// --- URIs and vanity numbers --------------------------------------------------------------------------------------

const URI = /(?<![\w.+\-])(tel|callto|sips?):(?:\/\/)?([^\s<>"'\[\]{}|,]+)/g;
const VANITY =
  /(?<![\w+\-.])(?<one>\+?1[ .\-]|1(?=\())?(?<area>\(\d{3}\)|\d{3})[ .\-]?(?=[0-9 .\-]{0,8}[A-Za-z])(?<body>[A-Za-z0-9](?:[.\-]?[A-Za-z0-9]){6,9}|[A-Z0-9](?:[ .\-]?[A-Z0-9]){6,9})(?!\w|\.\w)/g;
const TOLL_FREE = new Set(["800", "833", "844", "855", "866", "877", "888"]);
const NORTH_AMERICAN = new Set(["US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY", "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI"]);
const KEYPAD = "22233344455566677778889999";

function parse(text, region) {
  try {
    return parsePhoneNumberFromString(text, region || undefined) || null;
  } catch {
    return null;
  }
}

function uriNumbers(prepared, region) {
  const { text, original } = prepared;
  const found = [];
  for (const uri of text.matchAll(URI)) {
    let token = uri[2].replace(/[.,;:!?]+$/, "");
    if (token.endsWith(")") && token.split("(").length < token.split(")").length) token = token.slice(0, -1);
    const start = uri.index;
    const end = uri.index + uri[0].length - uri[2].length + token.length;
    const scheme = uri[1].toLowerCase();
    let decoded;
    try {
      decoded = decodeURIComponent(token);
    } catch {
      decoded = token;
    }
    let dialled;
    if (scheme.startsWith("sip")) dialled = decoded.split("@", 1)[0].split(":", 1)[0].split(";", 1)[0];
    else if (scheme === "callto") dialled = decoded.split("?", 1)[0];
    else dialled = `tel:${decoded}`;
    const number = parse(dialled, region);
    if (number && number.isValid()) {
      found.push({ start, end, raw: original.slice(start, end), e164: number.number, extension: number.ext || "", evidence: "uri" });
    }
  }
  return found;
}

function vanityNumbers(prepared, region) {
  const { text, original } = prepared;
  const northAmerican = NORTH_AMERICAN.has(region);
  const found = [];
  for (const vanity of text.matchAll(VANITY)) {
    const { one, area: areaWritten, body: bodyWritten } = vanity.groups;
    const body = bodyWritten.replace(/[ .\-]/g, "");
    const letters = [...body].filter((c) => /[A-Za-z]/.test(c)).length;
    if (letters < 3 || !(one || northAmerican)) continue;
    const area = areaWritten.replace(/[()]/g, "");
    const digits = area + [...body.slice(0, 7)].map((c) => (/[A-Za-z]/.test(c) ? KEYPAD[c.toUpperCase().charCodeAt(0) - 65] : c)).join("");
    const number = parse(`+1${digits}`, "");
    if (!number || !number.isValid()) continue;
    const start = vanity.index;
    const end = start + vanity[0].length;
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    const [said] = contextBefore(afterLastDigit(text.slice(Math.max(lineStart, start - GAP), start)));
    const tollFree = Boolean(one) && TOLL_FREE.has(area) && body === body.toUpperCase();
    if (said === "anti") continue;
    if (said === "label" || tollFree || LABEL_AFTER.test(text.slice(end, end + 24))) {
      found.push({ start, end, raw: original.slice(start, end), e164: number.number, extension: "", evidence: "vanity" });
    }
  }
  return found;
}

// --- finding ---------------------------------------------------------------------------------------------------------

/** [start, end) pieces of `text`: each line, long lines cut between words into pieces of at most SEGMENT. */
export function segments(text) {
  const pieces = [];
  let position = 0;
  while (position <= text.length) {
    const newline = text.indexOf("\n", position);
    const lineEnd = newline < 0 ? text.length : newline;
    let start = position;
    while (lineEnd - start > SEGMENT) {
      let cut = -1;
      const window = text.slice(start + SEGMENT / 2, start + SEGMENT);
      const safe = /(?<=[^\d\s])\s+(?=[^\W\d_])/g;
      for (let m = safe.exec(window); m; m = safe.exec(window)) cut = start + SEGMENT / 2 + m.index + m[0].length;
      if (cut <= start) cut = start + SEGMENT;
      pieces.push([start, cut]);
      start = cut;
    }
    pieces.push([start, lineEnd]);
    position = lineEnd + 1;
  }
  return pieces;
}

/** The page text and its normalised form (same offsets), prepared once for every segment of it. */
export function prepare(original) {
  return { original, text: normalise(original), special: null };
}

/** URI and vanity numbers of the whole text, found once (each segment takes those that start in it). */
function specialNumbers(prepared, region) {
  if (!prepared.special) {
    const { text } = prepared;
    const uris = /(?:tel|callto|sips?):/.test(text) ? uriNumbers(prepared, region) : [];
    const vanity = /[A-Za-z]{3}/.test(text) && /\d{3}/.test(text) ? vanityNumbers(prepared, region) : [];
    const taken = [...uris];
    for (const number of vanity) if (!taken.some((t) => t.start < number.end && number.start < t.end)) taken.push(number);
    prepared.special = taken;
  }
  return prepared.special;
}

function withExtensionWord(prepared, found) {
  if (found.extension) return found;
  const word = EXTENSION_WORD.exec(prepared.text.slice(found.end));
  if (!word) return found;
  const end = found.end + word[0].length;
  return { ...found, end, raw: prepared.original.slice(found.start, end), extension: word[1] };
}

/** Numbers that start in text[first, last) of a prepared text: [{start, end, raw, e164, extension, evidence}]. */
export function numbersInSegment(prepared, region, first, last) {
  const { original, text } = prepared;
  const special = specialNumbers(prepared, region);
  const found = special.filter((n) => n.start >= first && n.start < last);
  const piece = text.slice(first, last);
  if (!DIGIT.test(piece)) return found;
  // " / " between two numbers (seven digits each side) is a list ("07400 123456 / 07400 123457"): libphonenumber-js would try the two as
  // one candidate and find neither, so the matcher sees a bar there, which ends a candidate.
  const masked = mask(piece).replace(/(?<=\d(?:[\s().\-]{0,2}\d){6}\)?) \/ (?=\(?\+?\d(?:[\s().\-]{0,2}\d){6})/g, " | ");
  if (!CANDIDATE.test(masked)) return found; // most text: the matcher would allocate a lot to find nothing
  const options = { v2: true, leniency: "VALID" };
  if (region) options.defaultCountry = region;
  let from = 0; // where the matcher (re)starts in the piece
  while (from < masked.length) {
    let candidates;
    try {
      candidates = findNumbers(masked.slice(from), options);
    } catch {
      return found; // an unknown region: nothing more can be found with it
    }
    let restart = -1;
    for (const match of candidates) {
      let start = first + from + match.startsAt;
      let end = first + from + match.endsAt;
      let extension = match.number.ext || "";
      // libphonenumber-js reads ",75002" or ", 212-555-0199" after a number as its extension (the daemon's matcher
      // does not): the number ends at the comma, and the matcher starts again there for what follows.
      const tail = /[,;]+\s*\d+#?$/.exec(text.slice(start, end));
      if (extension && tail) {
        end -= tail[0].length;
        extension = "";
        restart = end - first;
      }
      while (start < end && (text[start] === "[" || (text[start] === "(" && !text.slice(start, end).includes(")")))) start++;
      if (start >= end || special.some((n) => n.start < end && start < n.end)) continue;
      if (text.slice(start, end).replace(/\D/g, "").length < 7) continue; // as the daemon's min_candidate_length
      const why = evidence(prepared, region, start, end, match.number.countryCallingCode);
      if (why) {
        const number = { start, end, raw: original.slice(start, end), e164: match.number.number, extension, evidence: why };
        found.push(withExtensionWord(prepared, number));
      }
      if (restart >= 0) break;
    }
    if (restart < 0) break;
    from = restart + 1;
  }
  return found.sort((a, b) => a.start - b.start);
}

/** Every phone number in `original`, in order, judged in context (region: ISO 3166 code or "" for "+" only). */
export function findPhoneNumbers(original, region) {
  if (!/[\p{Nd}]/u.test(original)) return [];
  const prepared = prepare(original);
  return segments(prepared.text).flatMap(([first, last]) => numbersInSegment(prepared, region, first, last));
}

/**
 * Steps that make the first real scan fast: V8 compiles each regular expression (the label ones are big) and
 * libphonenumber reads a region's metadata on first use. Run one step per idle slice, so none blocks long.
 */
export function warmUpSteps(region) {
  const sample = "Tel: 020 7946 0958, Order ID 4155550132 on 2024-11-25 for £12.50";
  return [
    () => mask(sample),
    () => contextBefore("Tel: ") && contextBefore("Order ID "),
    () => LABEL_AFTER.test(sample) && CURRENCY_BEFORE.test(sample),
    () => lookalike(sample, 5, 18, 44),
    () => AFTER_AMOUNT.test(sample) || UNIT_AFTER.test(sample) || wordChar("a"),
    () => findNumbers("+44 20 7946 0958", { v2: true, leniency: "VALID" }),
    () => region && findNumbers(sample, { defaultCountry: region, v2: true, leniency: "VALID" }),
    () => findPhoneNumbers(sample, region),
  ];
}
