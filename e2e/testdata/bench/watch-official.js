'use strict';

// BenchmarkWatchLatency's official client: Athom's homey-api signs in to the emulator, makes a
// capability instance of EMU_DEVICE's onoff, prints "ready" once its realtime connection is up
// and then one line per value its listener receives ({"value": …}), until stdin closes. Never
// prints a token or secret.
//
// Environment: HOMEY_API_DIR (the folder whose node_modules holds homey-api),
// ATHOM_CLOUD_API_BASEURL (read by homey-api), EMU_CLIENT_ID, EMU_CLIENT_SECRET,
// EMU_REDIRECT_URI, EMU_HOMEY_ID, EMU_DEVICE.

const path = require('path');
const crypto = require('crypto');

const { AthomCloudAPI } = require(path.join(process.env.HOMEY_API_DIR, 'node_modules', 'homey-api'));

async function main() {
  const cloud = new AthomCloudAPI({
    clientId: process.env.EMU_CLIENT_ID,
    clientSecret: process.env.EMU_CLIENT_SECRET,
    redirectUrl: process.env.EMU_REDIRECT_URI,
  });
  const res = await fetch(cloud.getLoginUrl({ state: crypto.randomUUID() }), { redirect: 'manual' });
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  await cloud.authenticateWithAuthorizationCode({ code });
  const user = await cloud.getAuthenticatedUser();
  const homey = await user.getHomeyById(process.env.EMU_HOMEY_ID).authenticate({ strategy: ['local'] });
  const lamp = await homey.devices.getDevice({ id: process.env.EMU_DEVICE });
  lamp.makeCapabilityInstance('onoff', (value) => {
    process.stdout.write(`${JSON.stringify({ value })}\n`);
  });
  await lamp.connect();
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    homey.destroy();
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`watch-official: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
