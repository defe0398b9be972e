'use strict';

// BenchmarkRealtimeLatencyOfficial's client: Athom's official homey-api signs in to the
// emulator, makes a capability instance of EMU_DEVICE's dim, then BENCH_N times sets dim
// through the HTTP API (fetch, as another client would) and measures the time until the
// instance's listener has the value. Prints {"latenciesMs": […]}; never a token or secret.

const path = require('path');
const crypto = require('crypto');

const { AthomCloudAPI } = require(path.join(process.env.HOMEY_API_DIR, 'node_modules', 'homey-api'));

async function main() {
  const redirectUrl = process.env.EMU_REDIRECT_URI;
  const cloud = new AthomCloudAPI({
    clientId: process.env.EMU_CLIENT_ID, clientSecret: process.env.EMU_CLIENT_SECRET, redirectUrl,
  });
  const res = await fetch(cloud.getLoginUrl({ state: crypto.randomUUID() }), { redirect: 'manual' });
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  await cloud.authenticateWithAuthorizationCode({ code });
  const homey = await (await cloud.getAuthenticatedUser()).getFirstHomey().authenticate({ strategy: ['local'] });
  const id = process.env.EMU_DEVICE;
  const lamp = await homey.devices.getDevice({ id });
  let waiting = null;
  lamp.makeCapabilityInstance('dim', (value) => {
    if (waiting && value === waiting.value) waiting.resolve();
  });
  await lamp.connect();
  const base = await homey.baseUrl;
  const put = (value) => fetch(`${base}/api/manager/devices/device/${id}/capability/dim`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${homey.__token}`, 'Content-Type': 'application/json', 'X-Homey-ID': homey.id },
    body: JSON.stringify({ value }),
  }).then((r) => { if (r.status !== 200) throw new Error(`PUT answered ${r.status}`); });
  await put(0.001);
  const latenciesMs = [];
  for (let i = 0; i < Number(process.env.BENCH_N); i += 1) {
    const value = ((i % 900) + 10) / 1000;
    const arrived = new Promise((resolve) => { waiting = { value, resolve }; });
    const start = process.hrtime.bigint();
    const answered = put(value);
    await arrived;
    latenciesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    await answered;
  }
  process.stdout.write(`${JSON.stringify({ latenciesMs })}\n`);
  homey.destroy();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench-realtime-official: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
