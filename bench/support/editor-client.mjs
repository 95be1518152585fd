// The browser's side of bench/instance.ts's editor proxy figures, in a process of its own as
// a browser is: the platform's event loop serves the requests and does not also make them.
// Forked with an IPC channel; it gets one job, answers with every latency, and exits.
//   job: { warmup, cases: [{ name, runs, init, settle, targets: { label: url } }] }
// A case with `settle` (a deploy) asks the parent to say when the platform has finished what
// a deploy sets off (the automatic snapshot) before the next request goes. Each deploy is a
// change, as a person's is: "__DEPLOY__" in its body becomes a counter.
import dns from 'node:dns';

// Instances' own origins default to <id>.localhost, which browsers resolve to loopback and
// glibc does not: resolved here as a browser would (the harness's resolveLocalhostSubdomains).
const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  if (/\.localhost\.?$/i.test(hostname)) return options?.all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4);
  return lookup.call(this, hostname, options, callback);
};

const ask = (message) =>
  new Promise((resolve) => {
    process.once('message', resolve);
    process.send(message);
  });

async function once(url, init) {
  const started = performance.now();
  const response = await fetch(url, init);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return performance.now() - started;
}

const job = await ask({ ready: true });
const results = {};
let deploys = 0;
for (const c of job.cases) {
  const times = Object.fromEntries(Object.keys(c.targets).map((label) => [label, []]));
  // Round by round, one request to each target in turn, so that drift falls on all alike;
  // each round starts one target further on, so that none is always first after a pause.
  const targets = Object.entries(c.targets);
  for (let i = 0; i < job.warmup + c.runs; i++) {
    for (const [label, url] of [...targets.slice(i % targets.length), ...targets.slice(0, i % targets.length)]) {
      const init = c.init.body ? { ...c.init, body: c.init.body.replaceAll('__DEPLOY__', String(++deploys)) } : c.init;
      const ms = await once(url, init);
      if (c.settle) await ask({ settle: true });
      if (i >= job.warmup) times[label].push(ms);
    }
  }
  results[c.name] = times;
}
process.send({ results }, () => process.exit(0));
