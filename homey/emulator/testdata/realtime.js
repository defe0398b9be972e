'use strict';

// Runs the realtime side of Athom's official JS client (npm homey-api) against the emulator
// emulator, for realtime_conformance_test.go: it subscribes to the devices manager and to one
// device's onoff through makeCapabilityInstance, sets values through the HTTP API (fetch) and
// through the socket (setValue), and prints what it received.
// Mid-way it prints {"ready": …} and waits for a line on stdin, while the test expires the
// Homey's sessions; then it checks that events arrive again and prints {"done": …}. Never
// prints a token, code or secret.
//
// Environment:
//   HOMEY_API_DIR            folder whose node_modules holds homey-api
//   ATHOM_CLOUD_API_BASEURL  the emulator's cloud URL (read by homey-api itself)
//   EMU_CLIENT_ID, EMU_CLIENT_SECRET, EMU_REDIRECT_URI
//   EMU_DEVICE               the id of a device with an onoff capability

const path = require('path');
const crypto = require('crypto');
const readline = require('readline');

const { AthomCloudAPI } = require(path.join(process.env.HOMEY_API_DIR, 'node_modules', 'homey-api'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// until polls cond every 20 ms; it gives up after 20 s (the Go test reports what was missing).
async function until(cond) {
  for (let i = 0; i < 1000 && !cond(); i += 1) {
    await sleep(20);
  }
  return cond();
}

async function authorise(cloud, redirectUrl) {
  const res = await fetch(cloud.getLoginUrl({ state: crypto.randomUUID() }), { redirect: 'manual' });
  if (res.status !== 302) {
    throw new Error(`authorise answered ${res.status}, want 302`);
  }
  const location = new URL(res.headers.get('location'));
  if (`${location.origin}${location.pathname}` !== redirectUrl) {
    throw new Error('authorise redirected to an unexpected URL');
  }
  return location.searchParams.get('code');
}

// put sets onoff through the HTTP API, as any other client of the Homey would.
async function put(homey, id, value) {
  const res = await fetch(`${await homey.baseUrl}/api/manager/devices/device/${id}/capability/onoff`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${homey.__token}`, 'Content-Type': 'application/json', 'X-Homey-ID': homey.id },
    body: JSON.stringify({ value }),
  });
  if (res.status !== 200) {
    throw new Error(`PUT onoff answered ${res.status}`);
  }
}

async function main() {
  const redirectUrl = process.env.EMU_REDIRECT_URI;
  const cloud = new AthomCloudAPI({
    clientId: process.env.EMU_CLIENT_ID,
    clientSecret: process.env.EMU_CLIENT_SECRET,
    redirectUrl,
  });
  await cloud.authenticateWithAuthorizationCode({ code: await authorise(cloud, redirectUrl) });
  const user = await cloud.getAuthenticatedUser();
  const homey = await user.getFirstHomey().authenticate();
  const id = process.env.EMU_DEVICE;

  await homey.devices.connect(); // the socket, the handshake, homey:manager:devices
  const updates = [];
  homey.devices.on('device.update', (d) => {
    if (d.id === id) updates.push(d.capabilitiesObj.onoff.value);
  });
  const devices = await homey.devices.getDevices(); // over the socket's api event now
  const lamp = devices[id];
  const initial = lamp.capabilitiesObj.onoff.value;
  const received = [];
  const onoff = lamp.makeCapabilityInstance('onoff', (value) => received.push(value));
  await lamp.connect(); // homey:device:<id>

  const sent = [!initial, initial, !initial];
  for (const v of sent) {
    await put(homey, id, v);
  }
  await until(() => received.length >= sent.length && updates.length >= sent.length);

  await onoff.setValue(initial); // through the socket: its own event is recognised and skipped
  const viaHttp = await homey.devices.getDevice({ id, $cache: false, $socket: false });

  const tokenBefore = homey.__token;
  out({
    ready: {
      connected: homey.isConnected(), sent, received: [...received], updates: [...updates],
      setValue: { value: onoff.value, http: viaHttp.capabilitiesObj.onoff.value },
    },
  });

  // The test expires the Homey's sessions now and says when the client has subscribed again.
  await new Promise((resolve) => readline.createInterface({ input: process.stdin }).once('line', resolve));
  const before = received.length;
  await put(homey, id, !initial);
  await until(() => received.length > before);
  out({
    done: {
      received: received.slice(before), sessionChanged: homey.__token !== tokenBefore, connected: homey.isConnected(),
    },
  });
  homey.destroy();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`realtime: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
