// Requests to the partnercrmd daemon on the loopback address (always POST: SECURITY.md rule 7).
import { PRODUCT } from "./settings.js";

export const TIMEOUT_MS = 8000;

/** Codes the daemon answers when this extension's registration is gone (revoked, or never approved). */
export const CUT_OFF_CODES = new Set(["not_approved", "forbidden_origin", "unauthorized"]);

export class Unreachable extends Error {}

/** POST `fields` (form-encoded, as the published client does) to /api/v1/<route>; {status, body}. */
export async function post(port, route, fields, applicationId = "") {
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  if (applicationId) headers.ApplicationId = applicationId;
  let response;
  try {
    response = await fetch(`http://127.0.0.1:${Number(port)}/api/v1/${route}`, {
      method: "POST",
      headers,
      body: new URLSearchParams(fields).toString(),
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new Unreachable(`${PRODUCT} does not answer on port ${port}: is it running? (${error.message})`);
  }
  const text = await response.text();
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { Message: text.slice(0, 200) };
  }
  return { status: response.status, body };
}
