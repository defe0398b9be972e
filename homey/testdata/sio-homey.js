'use strict';

// A Homey played by the reference Socket.IO 2 server (npm socket.io 2.x), for the realtime
// client's tests (realtime_socketio_test.go): the root namespace answers handshakeClient, the
// namespace it names (/api) takes subscribe and unsubscribe of homey:device:<id> URIs, and
// events go to a URI's room as the event named by the URI with (event, data).
//
// It prints one JSON object a line on stdout: {"listening": port} once, then what happens
// ({"event": "handshake"|"refused"|"subscribed"|"unsubscribed"|"connection", …}) and answers
// to commands. Commands are JSON lines on stdin:
//   {"emit": {"uri", "event", "data"}}   emit to the URI's subscribers
//   {"disconnect": "namespace"|"all"}    end every client's /api socket, or its whole connection
//   {"stats": true}                      print {"stats": {handshakes, pings, connections}}
//
// Environment: SIO_DIR (the folder whose node_modules holds socket.io), SIO_TOKEN (the one
// bearer accepted), SIO_HOMEY (the Homey id), SIO_PING_INTERVAL and SIO_PING_TIMEOUT (ms).
// Never prints a token.

const path = require('path');
const http = require('http');
const readline = require('readline');

const createServer = require(path.join(process.env.SIO_DIR, 'node_modules', 'socket.io'));

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const server = http.createServer();
const io = createServer(server, {
  transports: ['websocket'],
  serveClient: false,
  pingInterval: Number(process.env.SIO_PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.SIO_PING_TIMEOUT || 5000),
});

const stats = { handshakes: 0, pings: 0, connections: 0 };
const authed = new Set(); // engine.io ids of the connections that handshook

io.on('connection', (socket) => {
  stats.connections += 1;
  out({ event: 'connection' });
  socket.conn.on('packet', (p) => {
    if (p.type === 'ping') stats.pings += 1;
  });
  socket.conn.on('close', () => authed.delete(socket.conn.id));
  socket.on('handshakeClient', (data, cb) => {
    stats.handshakes += 1;
    if (typeof cb !== 'function') return;
    if (!data || data.homeyId !== process.env.SIO_HOMEY) {
      cb({ statusCode: 400, error: 'Invalid Homey ID' });
      return;
    }
    if (data.token !== process.env.SIO_TOKEN) {
      out({ event: 'refused' });
      cb({ statusCode: 401, error: 'Invalid Session', error_description: 'the session expired' });
      return;
    }
    authed.add(socket.conn.id);
    out({ event: 'handshake' });
    cb(null, { namespace: '/api' });
  });
});

const api = io.of('/api');
api.use((socket, next) => (authed.has(socket.conn.id) ? next() : next(new Error('Not authorized'))));
api.on('connection', (socket) => {
  socket.on('subscribe', (uri, cb) => {
    if (typeof uri !== 'string' || !uri.startsWith('homey:device:')) {
      cb({ statusCode: 404, error: 'Not Found', error_description: 'unknown URI' });
      return;
    }
    socket.join(uri);
    out({ event: 'subscribed', uri });
    cb(null);
  });
  socket.on('unsubscribe', (uri) => {
    socket.leave(uri);
    out({ event: 'unsubscribed', uri });
  });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.emit) {
    api.to(cmd.emit.uri).emit(cmd.emit.uri, cmd.emit.event, cmd.emit.data);
  } else if (cmd.disconnect === 'namespace') {
    Object.values(api.sockets).forEach((s) => s.disconnect());
  } else if (cmd.disconnect === 'all') {
    Object.values(io.of('/').sockets).forEach((s) => s.disconnect(true));
  } else if (cmd.stats) {
    out({ stats });
  }
}).on('close', () => {
  io.close();
  server.close();
  process.exit(0);
});

server.listen(0, '127.0.0.1', () => out({ listening: server.address().port }));
