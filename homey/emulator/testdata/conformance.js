'use strict';

// Runs Athom's official JS client (npm homey-api) against the emulator
// emulator and prints one JSON line summarising what it saw. Driven by
// conformance_test.go; never prints a token, code or secret.
//
// Environment:
//   HOMEY_API_DIR            folder whose node_modules holds homey-api
//   ATHOM_CLOUD_API_BASEURL  the emulator's cloud URL (read by homey-api itself)
//   EMU_CLIENT_ID, EMU_CLIENT_SECRET, EMU_REDIRECT_URI
//   EMU_EXPIRY_WAIT_MS       how long to wait for tokens and sessions to expire

const path = require('path');
const crypto = require('crypto');

const { AthomCloudAPI } = require(path.join(process.env.HOMEY_API_DIR, 'node_modules', 'homey-api'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The browser stand-in: GET the authorise URL, do not follow the redirect.
async function authorise(cloud, redirectUrl) {
  const state = crypto.randomUUID();
  const res = await fetch(cloud.getLoginUrl({ state }), { redirect: 'manual' });
  if (res.status !== 302) {
    throw new Error(`authorise answered ${res.status}, want 302`);
  }
  const location = new URL(res.headers.get('location'));
  const target = `${location.origin}${location.pathname}`;
  if (target !== redirectUrl) {
    throw new Error('authorise redirected to an unexpected URL');
  }
  if (location.searchParams.get('state') !== state) {
    throw new Error('authorise did not echo state');
  }
  return location.searchParams.get('code');
}

async function failure(promise) {
  try {
    await promise;
    return { ok: true };
  } catch (err) {
    return { ok: false, status: err.statusCode ?? null, message: err.message };
  }
}

async function homeySummary(api) {
  const devices = await api.devices.getDevices();
  const zones = await api.zones.getZones();
  return {
    id: api.id,
    strategy: api.strategyId,
    version: api.version,
    devices: Object.values(devices).map((d) => ({
      id: d.id,
      name: d.name,
      zone: zones[d.zone] ? zones[d.zone].name : null,
      capabilities: Object.keys(d.capabilitiesObj || {}).sort(),
    })),
    zones: Object.values(zones).map((z) => ({ id: z.id, name: z.name, parent: z.parent })),
    canReadDevices: api.hasScope('homey.device.readonly'),
  };
}

async function main() {
  const redirectUrl = process.env.EMU_REDIRECT_URI;
  const cloud = new AthomCloudAPI({
    clientId: process.env.EMU_CLIENT_ID,
    clientSecret: process.env.EMU_CLIENT_SECRET,
    redirectUrl,
  });
  const out = { cloudBaseUrl: cloud.baseUrl };
  const t0 = Date.now();

  const code = await authorise(cloud, redirectUrl);
  await cloud.authenticateWithAuthorizationCode({ code });
  out.codeReuse = await failure(cloud.authenticateWithAuthorizationCode({ code }));

  const user = await cloud.getAuthenticatedUser();
  out.user = { id: user.id, fullname: user.fullname, email: user.email, regular: user.hasRole('regular') };
  out.homeys = user.getHomeys().map((h) => ({ id: h.id, name: h.name }));

  // The first Homey goes through the client's default discovery, which races
  // all its addresses and takes localUrl (the emulator's local listener) over
  // the relay; the second only tries the cloud relay (remoteUrl).
  const first = await user.getFirstHomey().authenticate();
  out.first = await homeySummary(first);
  const second = await user.getHomeyById(out.homeys[1].id).authenticate({ strategy: 'cloud' });
  out.second = await homeySummary(second);

  const jwt = await cloud.createDelegationToken({ audience: 'homey' });
  const claims = await cloud.verifyDelegationTokenCached({ token: jwt, audience: 'homey' });
  out.delegation = { aud: claims.aud, sub: claims.sub, lifetime: claims.exp - claims.iat };
  out.wrongAudience = await failure(cloud.verifyDelegationTokenCached({ token: jwt, audience: 'apps' }));
  out.flowMs = Date.now() - t0;

  // Let the access token and the Homey sessions expire: the client must
  // refresh on 401 invalid_token and log in on the Homey again on 401.
  await sleep(Number(process.env.EMU_EXPIRY_WAIT_MS));
  const before = { access: cloud.__token.access_token, refresh: cloud.__token.refresh_token, homey: first.__token };
  const again = await cloud.getAuthenticatedUser({ $cache: false });
  out.afterExpiry = {
    fullname: again.fullname,
    accessTokenChanged: cloud.__token.access_token !== before.access,
    refreshTokenChanged: cloud.__token.refresh_token !== before.refresh,
  };
  const devicesAgain = await first.devices.getDevices({ $cache: false });
  out.afterSessionExpiry = {
    devices: Object.keys(devicesAgain).length,
    sessionChanged: first.__token !== before.homey,
  };
  first.destroy();
  second.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`conformance: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
