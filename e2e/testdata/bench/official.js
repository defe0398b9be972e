'use strict';

// Athom's official JS client (npm homey-api) doing the jobs `homeytray` does, one job per
// process, against the emulator emulator. Driven by bench_official_test.go (`make
// bench-compare`); never prints a secret except the bearer that `token` is asked for.
//
//   node official.js login STORE   sign in by code (the browser is a fetch of the authorise URL
//                                  that does not follow the redirect), store the sign-in in the
//                                  JSON file STORE, sign in on the Homey and get its devices and
//                                  zones; prints the number of devices
//   node official.js token STORE   restore the sign-in from STORE, as the Homey CLI does (Athom
//                                  token, user and Homey session in one JSON store), and print
//                                  the Homey bearer; without a stored Homey session it makes one
//                                  (delegation token + users/login) and stores it
//   node official.js devices STORE restore the sign-in and the Homey session from STORE and get
//                                  the Homey's devices and zones; prints the number of devices
//
// Environment:
//   HOMEY_API_DIR            folder whose node_modules holds homey-api
//   ATHOM_CLOUD_API_BASEURL  the emulator's cloud URL (read by homey-api itself)
//   EMU_CLIENT_ID, EMU_CLIENT_SECRET, EMU_REDIRECT_URI
//   EMU_HOMEY_ID             the Homey to use (homeytray's default Homey)
//
// Discovery: homey-api's default strategy list starts with mDNS, whose ping waits up to 3 s for
// an answer the emulator never gives. The Homey is reached with strategy ['local', 'cloud']:
// both its localUrl and its relay (remoteUrl) are pinged and the local one wins, as homeytray
// prefers the local route with the relay as fallback.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const { AthomCloudAPI } = require(path.join(process.env.HOMEY_API_DIR, 'node_modules', 'homey-api'));

const STRATEGY = ['local', 'cloud'];

// A JSON file as homey-api's store (what the Homey CLI keeps in its settings file).
class StorageAdapterFile extends AthomCloudAPI.StorageAdapter {
  constructor(file) {
    super();
    this.file = file;
  }

  async get() {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') return {};
      throw err;
    }
  }

  async set(value) {
    fs.writeFileSync(this.file, JSON.stringify(value), { mode: 0o600 });
  }
}

function cloudAPI(store) {
  return new AthomCloudAPI({
    clientId: process.env.EMU_CLIENT_ID,
    clientSecret: process.env.EMU_CLIENT_SECRET,
    redirectUrl: process.env.EMU_REDIRECT_URI,
    store: new StorageAdapterFile(store),
  });
}

// The browser stand-in: GET the authorise URL, do not follow the redirect.
async function authorise(cloud) {
  const state = crypto.randomUUID();
  const res = await fetch(cloud.getLoginUrl({ state }), { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`authorise answered ${res.status}, want 302`);
  const location = new URL(res.headers.get('location'));
  if (location.searchParams.get('state') !== state) throw new Error('authorise did not echo state');
  return location.searchParams.get('code');
}

async function homey(cloud, user) {
  const id = process.env.EMU_HOMEY_ID;
  const h = id ? user.getHomeyById(id) : user.getFirstHomey();
  return h.authenticate({ strategy: STRATEGY, reconnect: false });
}

async function login(store) {
  fs.rmSync(store, { force: true });
  const cloud = cloudAPI(store);
  await cloud.authenticateWithAuthorizationCode({ code: await authorise(cloud) });
  const user = await cloud.getAuthenticatedUserFromStore(); // GET /user/me, kept in the store
  const api = await homey(cloud, user);
  // Devices with their zones, as `homeytray devices` lists them.
  const [devices] = await Promise.all([api.devices.getDevices(), api.zones.getZones()]);
  api.destroy();
  process.stdout.write(`${Object.keys(devices).length}\n`);
}

async function token(store) {
  const cloud = cloudAPI(store);
  // The stored user (no /user/me): the kindest reading of the official client.
  const user = await cloud.getAuthenticatedUserFromStore();
  const api = await homey(cloud, user);
  const bearer = api.__token;
  api.destroy();
  if (!bearer) throw new Error('no Homey bearer');
  process.stdout.write(`${bearer}\n`);
}

async function devices(store) {
  const cloud = cloudAPI(store);
  const user = await cloud.getAuthenticatedUserFromStore();
  const api = await homey(cloud, user);
  const [list] = await Promise.all([api.devices.getDevices(), api.zones.getZones()]);
  api.destroy();
  process.stdout.write(`${Object.keys(list).length}\n`);
}

const [job, store] = process.argv.slice(2);
const jobs = { login, token, devices };
if (!jobs[job] || !store) {
  process.stderr.write('usage: node official.js login|token|devices STORE\n');
  process.exit(2);
}
jobs[job](store).then(
  () => process.exit(0), // do not wait for keep-alive sockets or timers
  (err) => {
    process.stderr.write(`official.js ${job}: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  },
);
