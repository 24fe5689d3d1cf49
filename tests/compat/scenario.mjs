// Every route and event of the Integrator localhost API, called as a client using only the documented request
// types would (../shared/design/API.md): the same scenario runs from Node and from a web page in Chromium.
// It records what each call answered; the Python test (tests/test_integrator_compat.py) checks the shapes, so
// one set of checks serves both runtimes. Nothing here knows partnercrmd's internals: it uses the sample contacts
// of the embedded local address book the way a user's phone client would find them.

import { IntegratorClient } from "./integrator_client.mjs";

/** The telephony routes of that API, which belong to the phone client (404 telephony_not_served). */
export const TELEPHONY_ROUTES = [
  "MakeCall", "Answer", "Hangup", "Hold", "Unhold", "SendDtmf", "TransferComplete", "TransferConsult",
  "TransferCancel", "TransferBlind", "Deflect", "Pickup", "HookState", "OwnerContact", "RecordSuspend",
  "RecordResume", "Unload", "SearchPeers",
];

const KNOWN_CALLER = "+442079460958"; // Alice Hartley, a sample contact of the embedded local address book
const OUR_NUMBER = "+441134960000";

function action(record, kind) {
  const found = (record?.Actions || []).find((a) => a.SpecialKind === kind);
  return found ? found.ActionId : "";
}

function firstRecord(collections) {
  for (const collection of collections || []) {
    if (collection.Records && collection.Records.length) return collection.Records[0];
  }
  return null;
}

/**
 * Run the whole scenario against one daemon.
 * @param {{baseUrl: string, applicationId: string, casing: "camel"|"pascal", name: string, dial: string}} options
 *   `dial`: the number to dial, a different one per run (the daemon drops a repeat of the same number).
 * @returns {Promise<{steps: Object, events: Object, errors: string[]}>}
 */
export async function runScenario({ baseUrl, applicationId, casing, name, dial }) {
  const client = new IntegratorClient(baseUrl, applicationId, casing);
  const steps = {};
  const events = {};
  const errors = [];
  const step = async (label, promise) => {
    try {
      steps[label] = await promise;
    } catch (error) {
      errors.push(`${label}: ${error}`);
    }
    return steps[label];
  };
  const event = async (label, stream, type, from) => {
    try {
      const { event: found, index } = await stream.next(type, from);
      events[label] = found;
      return index;
    } catch (error) {
      errors.push(`${label}: ${error}`);
      return from;
    }
  };

  // Registration: the user confirms it once (the test approves it as the user would); success is 204.
  await step("Register", client.post("Register", { Name: name, Id: applicationId }));
  await step("Version", client.get("Version"));
  await step("Ping", client.post("Ping", { Id: "ping-42" }));

  let stream = null;
  try {
    stream = await client.events();
  } catch (error) {
    errors.push(`events: ${error}`);
  }
  if (stream) await event("Initial", stream, "Initial", 0);

  // Search by number (the documented defaults are omitted: count 5, offset 0, no pictures), by name, with activities.
  const byNumber = await step("Search number", client.post("Search", { query: KNOWN_CALLER, count: 5, offset: 0, includePictures: false }));
  await step("Search name", client.post("Search", { query: "Chris Huffman", count: 10 }));
  await step("Search paged", client.post("Search", { query: "e", count: 1, offset: 1 }));
  await step("AddressBooks", client.get("AddressBooks"));
  const recordTypes = await step("RecordTypes", client.get("RecordTypes"));
  const creatable = (recordTypes?.body || []).find((t) => t.CanCreate) || (recordTypes?.body || [])[0] || {};

  // CreateNewRecord with RecordTypeId alone: a new, empty record; SaveRecord fills it (RecordId = its UniqueId).
  const draft = await step("CreateNewRecord draft", client.post("CreateNewRecord", { RecordTypeId: creatable.UniqueId }));
  await step("SaveRecord draft", client.post("SaveRecord", {
    RecordId: draft?.body?.UniqueId, FirstName: "Nadia", LastName: "Compat", Phone: "+44 161 496 0123",
    CompanyName: "Compat Ltd", Email: "nadia@compat.example",
  }));
  await step("Search saved draft", client.post("Search", { query: "+441614960123" }));
  // CreateNewRecord with fields creates at once; SaveRecord changes an existing record.
  const created = await step("CreateNewRecord fields", client.post("CreateNewRecord", {
    RecordTypeId: creatable.UniqueId, FirstName: "Omar", LastName: "Compat", Phone: "+44 161 496 0456",
  }));
  await step("SaveRecord existing", client.post("SaveRecord", { RecordId: created?.body?.UniqueId, Notes: "Prefers mornings" }));

  // Calls, as the phone client reports them: CallsChanged on each change, CallHistoryChanged once it ends.
  const callId = `compat-${applicationId}`;
  const started = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const call = { CallId: callId, Direction: "Inbound", CallerNumber: KNOWN_CALLER, CalledNumber: OUR_NUMBER, StartTimeUtc: started };
  let seen = stream ? stream.received.length : 0;
  await step("CallEvent Ringing", client.post("CallEvent", { ...call, State: "Ringing" }));
  if (stream) seen = await event("CallsChanged ringing", stream, "CallsChanged", seen) + 1;
  await step("CallEvent Answered", client.post("CallEvent", { ...call, State: "Answered" }));
  if (stream) seen = await event("CallsChanged answered", stream, "CallsChanged", seen) + 1;
  await step("CallEvent Ended", client.post("CallEvent", { ...call, State: "Ended", DurationSeconds: 42 }));
  if (stream) {
    await event("CallsChanged ended", stream, "CallsChanged", seen);
    await event("CallHistoryChanged", stream, "CallHistoryChanged", seen);
  }

  // DoAction with actionId alone: open the record, log the call just reported against it, show its activities.
  const alice = firstRecord(byNumber?.body);
  await step("DoAction Open", client.post("DoAction", { actionId: action(alice, "Open") }));
  const beforeLog = stream ? stream.received.length : 0;
  await step("DoAction LogActivity", client.post("DoAction", { actionId: action(alice, "LogActivity") }));
  if (stream) await event("ActivityLogged", stream, "ActivityLogged", beforeLog);
  await step("Search activities", client.post("Search", { query: KNOWN_CALLER, includeActivities: true }));
  await step("DoAction forged", client.post("DoAction", { actionId: "forged-action-id" }));

  await step("ShowWindow", client.post("ShowWindow", { window: "configuration" }));
  await step("ShowWindow unknown", client.post("ShowWindow", { window: "no-such-window" }));

  // partnercrmd's additions a phone client uses: Dial (MakeCallRequest), Integrations, the OpenAPI document.
  const beforeDial = stream ? stream.received.length : 0;
  await step("Dial", client.post("Dial", { Destination: `tel:${dial}`, Source: "Api" }));
  if (stream) await event("MakeCallRequest", stream, "MakeCallRequest", beforeDial);
  await step("Integrations", client.get("Integrations"));
  await step("openapi.json", client.get("openapi.json"));

  for (const route of TELEPHONY_ROUTES) {
    await step(`telephony ${route}`, client.post(route, { Id: "1" }));
  }
  await step("unknown route", client.post("NoSuchRoute", {}));

  if (stream) stream.close();
  return { steps, events, errors };
}
