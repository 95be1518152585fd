// The load side of bench/fleet-checkin.ts, in a process of its own so that the load
// generator and the platform do not share an event loop: autocannon sending device
// check-ins, each request with the next device's credential in turn.
//   node bench/support/checkin-load.mjs URL CREDENTIALS_FILE CONNECTIONS SECONDS
import fs from 'node:fs';
import autocannon from 'autocannon';

const [url, file, connections, seconds] = process.argv.slice(2);
const credentials = JSON.parse(fs.readFileSync(file, 'utf8'));
let next = 0;
const body = JSON.stringify({ agentVersion: '0.1.0', nodeRedVersion: '4.1.8' });
const result = await autocannon({
  url: `${url}/api/fleet/v1/check-in`,
  connections: Number(connections),
  duration: Number(seconds),
  requests: [
    {
      method: 'POST',
      setupRequest: (request) => ({
        ...request,
        body,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials[next++ % credentials.length]}` },
      }),
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  }),
);
