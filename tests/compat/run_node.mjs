// Runs the compatibility scenario from Node and prints what every call answered, as one JSON document.
// Usage: node --experimental-websocket run_node.mjs BASE_URL APPLICATION_ID camel|pascal NAME DIAL_NUMBER
// For HTTPS, Node trusts the daemon's local authority through NODE_EXTRA_CA_CERTS (set by the test).
import { runScenario } from "./scenario.mjs";

const [baseUrl, applicationId, casing, name, dial] = process.argv.slice(2);
const result = await runScenario({ baseUrl, applicationId, casing, name, dial });
process.stdout.write(JSON.stringify(result));
