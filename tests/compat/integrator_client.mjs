// A client of the Integrator localhost API written from the wire format in ../shared/design/API.md alone
// (not from any client library's code), as a program built on that format would call it. It runs unchanged
// in Node (>= 20, `--experimental-websocket`) and in a browser page: fetch, URLSearchParams and WebSocket only.
//
// What the wire format says and this client does:
// - bodies are application/x-www-form-urlencoded, and falsy values are dropped (an absent field means its
//   default), so `count: 0`, `includePictures: false` and `""` are never sent;
// - the header `ApplicationId` on every request;
// - success is any 2xx with a JSON body or none (204); failure a non-2xx with `{"Message"}`;
// - field names are matched case-insensitively: the client sends them in the casing it is given
//   (camelCase as the library's request types, or PascalCase), see `casing` below.

/** Field names as a client of one casing style writes them. */
export function cased(fields, casing) {
  const out = {};
  for (const [name, value] of Object.entries(fields)) {
    const first = casing === "pascal" ? name[0].toUpperCase() : name[0].toLowerCase();
    out[first + name.slice(1)] = value;
  }
  return out;
}

/** The form body the client sends: falsy values dropped, everything else as text. */
export function formBody(fields) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields || {})) {
    if (value === undefined || value === null || value === false || value === 0 || value === "") continue;
    body.append(name, String(value));
  }
  return body;
}

export class IntegratorClient {
  /**
   * @param {string} baseUrl e.g. "http://localhost:10088" or "https://localhost:10443"
   * @param {string} applicationId the application's id (a UUID), sent as the ApplicationId header
   * @param {"camel"|"pascal"} casing how field names are written
   */
  constructor(baseUrl, applicationId, casing = "camel") {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.applicationId = applicationId;
    this.casing = casing;
  }

  url(route) {
    return `${this.baseUrl}/api/v1/${route}`;
  }

  /** One request; resolves to {status, body, contentType} (body: parsed JSON, text, or null when empty). */
  async request(method, route, fields, extraHeaders = {}) {
    // The form content type on every request, GETs included, as a client that sets its headers once would.
    const headers = {
      "Content-Type": "application/x-www-form-urlencoded",
      ApplicationId: this.applicationId,
      ...extraHeaders,
    };
    const init = { method, headers };
    if (method === "POST") {
      init.body = formBody(cased(fields || {}, this.casing));
    }
    const response = await fetch(this.url(route), init);
    const text = await response.text();
    const contentType = response.headers.get("content-type") || "";
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: response.status, body, contentType };
  }

  get(route) {
    return this.request("GET", route);
  }

  post(route, fields) {
    return this.request("POST", route, fields);
  }

  /** The event WebSocket; resolves once open, to an EventStream. */
  events() {
    const wsUrl = this.baseUrl.replace(/^http/, "ws") + `/api/v1/events/${encodeURIComponent(this.applicationId)}`;
    return EventStream.open(wsUrl);
  }
}

/** The events of one WebSocket, kept in order; `next(type)` waits for the next of a type. */
export class EventStream {
  static open(url, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const stream = new EventStream(socket);
      const timer = setTimeout(() => reject(new Error(`WebSocket ${url} did not open in ${timeoutMs} ms`)), timeoutMs);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(stream);
      });
      socket.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${url} failed`));
      });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.received = [];
    this.waiters = [];
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      this.received.push(event);
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  /** The first event of `type` after position `from` (an index into `received`), waiting up to timeoutMs. */
  next(type, from = 0, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const look = () => {
        for (let i = from; i < this.received.length; i++) {
          if (this.received[i].EventType === type) {
            this.waiters = this.waiters.filter((w) => w !== look);
            clearTimeout(timer);
            resolve({ event: this.received[i], index: i });
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== look);
        const seen = this.received.map((e) => e.EventType).join(", ");
        reject(new Error(`no ${type} event within ${timeoutMs} ms (seen: ${seen})`));
      }, timeoutMs);
      if (!look()) this.waiters.push(look);
    });
  }

  close() {
    this.socket.close();
  }
}
