'use strict';
/**
 * What the Node-RED settings do, inside the Node-RED process (node-red-settings.cjs is
 * the file Node-RED loads; settings-file.ts writes the values it reads). CommonJS because
 * Node-RED loads its settings with `require` and runs no TypeScript; typed with JSDoc and
 * checked by tsc (checkJs) and eslint like the TypeScript around it.
 *
 * It does what Node-RED cannot be told from outside:
 * - editor login: adminAuth.tokens() accepts only editor tokens signed with the
 *   instance's key, for this instance, not expired (@flowgate/core's editor token check,
 *   the platform's own), and httpAdminMiddleware asks for one in front of everything under
 *   httpAdminRoot (the editor's page and assets too, which adminAuth leaves open). With no
 *   users and no default user, the admin API and editor answer nothing without one.
 * - audit and logs: a log handler sends Node-RED's log lines and audit events to the
 *   agent over the IPC channel the agent opens when it spawns Node-RED.
 * - orphan guard: when the agent goes away (IPC disconnect), Node-RED stops itself, so
 *   a killed agent never leaves a runtime nobody supervises.
 * - the palette catalogue: an empty one, served behind the same gate, instead of the public
 *   catalogue that the editor's Content-Security-Policy blocks.
 */
const fs = require('node:fs');
const http = require('node:http');
const { timingSafeEqual } = require('node:crypto');
const { checkEditorToken, editorTokenKeyBytes } = require('@flowgate/core/editor-token-check');

/**
 * The values the agent writes for one start of Node-RED (settings-file.ts).
 * @typedef {object} NodeRedSettingsValues
 * @property {string} instanceId
 * @property {string} [host] the address Node-RED listens on; absent (an older agent's file): loopback
 * @property {number} port
 * @property {boolean} safeMode
 * @property {string} credentialSecret
 * @property {string} editorTokenKey hex
 * @property {string | null} endpointKey hex; null: the endpoints are not gated (a device)
 * @property {string} httpAdminRoot
 * @property {string} httpNodeRoot
 * @property {{ allowList: string[], denyList: string[] }} palette Node-RED's form of the palette lists
 */

/**
 * Messages the settings send to the agent over IPC.
 * @typedef {{ kind: 'log', level: string, ts: number, msg: string }
 *   | { kind: 'audit', event: string, user: string | null, ts: number, details: Record<string, unknown> }} NodeRedIpcMessage
 */

/** @typedef {{ username: string, permissions: '*' | 'read', userId: string, name: string }} NodeRedUser */

/**
 * Express's request and response, as much of them as is used here.
 * @typedef {{ method?: string, path?: string, headers: Record<string, string | string[] | undefined> }} GateRequest
 * @typedef {{ statusCode?: number, writableFinished?: boolean, on(event: 'close', listener: () => void): unknown,
 *   status(code: number): GateResponse, set(name: string, value: string): GateResponse, type(type: string): GateResponse, send(body: string): void }} GateResponse
 */

/**
 * A Node-RED log message (its logging handlers get these).
 * @typedef {{ level: number, msg?: unknown, type?: string, name?: string, id?: string, timestamp?: number, event?: unknown, user?: unknown, error?: unknown } & Record<string, unknown>} NodeRedLogMessage
 */

const MAX_LOG_CHARS = 16384;
/** @type {Record<number, string>} */
const LEVEL_NAMES = { 10: 'fatal', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'trace', 98: 'audit', 99: 'metric' };
// Node-RED audits a library save without its request, so without who saved (library.set,
// user null): said by the admin gate instead, once the save is answered.
const LIBRARY_SAVE = /^\/library\/([^/]+)\/([^/]+)\/(.*)$/;
// The palette catalogue the editor is given (editorTheme.palette.catalogues): relative, so it
// is asked of this Node-RED through whatever serves its editor (the platform's proxy, a
// device's tunnel), and answered by adminGate. It lists nothing: the public catalogue
// (catalogue.nodered.org) is outside the editor's Content-Security-Policy and a plant's
// network, and what may be installed is the team's palette lists (externalModules).
const PALETTE_CATALOGUE = 'flowgate-palette-catalogue.json';

// The editor's comms socket: its transport, not what the person did (flowgateLogHandler).
const EDITOR_CONNECTION_EVENTS = new Set(['comms.open', 'comms.auth', 'comms.close']);

/**
 * The values the agent wrote; `file` comes from NODE_RED_SETTINGS_VALUES.
 * @param {string | undefined} file
 * @returns {NodeRedSettingsValues}
 */
function readNodeRedSettingsValues(file) {
  if (!file) throw new Error('NODE_RED_SETTINGS_VALUES names no file: Node-RED is started by the Flowgate agent, which writes it');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * @param {NodeRedIpcMessage} message
 */
function send(message) {
  if (typeof process.send !== 'function' || !process.connected) return;
  try {
    // With a callback, a channel that closes meanwhile is reported there instead of
    // as an 'error' event that would crash Node-RED.
    process.send(message, undefined, {}, () => {});
  } catch {
    // The agent is gone; the disconnect handler stops Node-RED.
  }
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function asText(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack || String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Node-RED's settings object for `values`. Also sets what the process needs before
 * Node-RED starts: the umask, the orphan guard, and (a hosted instance) the endpoint key's
 * gate in front of WebSocket upgrades.
 * @param {NodeRedSettingsValues} values
 */
function nodeRedSettings(values) {
  const editorTokenKey = editorTokenKeyBytes(values.editorTokenKey);
  const endpointKey = values.endpointKey;

  // Node-RED writes flows and encrypted credentials into its user directory: owner only.
  process.umask(0o077);

  if (typeof process.send === 'function') {
    process.once('disconnect', () => {
      process.kill(process.pid, 'SIGTERM');
    });
  }

  const startedAt = new Date().toISOString();

  // A request with no token at all may come from anything on the machine (another instance's
  // flows too): one event a minute says so, with how many, instead of one each.
  let missingSince = 0;
  let missingCount = 0;

  /**
   * Audits a refused token; always null.
   * @param {string} reason
   * @returns {null}
   */
  function refuse(reason) {
    if (reason === 'missing') {
      missingCount++;
      if (Date.now() - missingSince < 60000) return null;
      send({ kind: 'audit', event: 'auth.invalid-token', user: null, ts: Date.now(), details: { reason, requests: missingCount } });
      missingSince = Date.now();
      missingCount = 0;
      return null;
    }
    send({ kind: 'audit', event: 'auth.invalid-token', user: null, ts: Date.now(), details: { reason } });
    return null;
  }

  /**
   * The editor token's check, plus the instance's.
   * @param {unknown} token
   * @returns {NodeRedUser | null}
   */
  function verifyEditorToken(token) {
    const checked = checkEditorToken(editorTokenKey, token, Date.now() / 1000);
    if (!checked.ok) return refuse(checked.reason);
    const { payload } = checked;
    if (payload.iid !== values.instanceId) return refuse('other-instance');
    return { username: payload.email, permissions: payload.permissions, userId: payload.sub, name: payload.name };
  }

  /**
   * adminAuth guards the admin API only: Node-RED serves the editor's page, scripts, icons,
   * locales and /auth/login to anyone. In front of all of it, an editor token is required
   * (the platform's proxy adds one to every request it forwards, and the agent to its own).
   * @param {GateRequest} req
   * @param {GateResponse} res
   * @param {() => void} next
   */
  function adminGate(req, res, next) {
    const header = String(req.headers.authorization || '');
    const user = header.startsWith('Bearer ') ? verifyEditorToken(header.slice(7)) : refuse('missing');
    if (user !== null) {
      const save = req.method === 'POST' ? LIBRARY_SAVE.exec(req.path || '') : null;
      if (save) {
        // 'close' comes for an answered save and for one cut short; a refused one (401, 403) is
        // Node-RED's own permission.fail.
        res.on('close', () => {
          if (res.statusCode === 401 || res.statusCode === 403) return;
          /** @type {Record<string, unknown>} */
          const details = { library: save[1], type: save[2], path: save[3], userId: user.userId };
          if (!res.writableFinished) details.error = 'cut short';
          else if ((res.statusCode ?? 0) >= 400) details.error = 'HTTP ' + res.statusCode;
          send({ kind: 'audit', event: 'library.set', user: user.username, ts: Date.now(), details });
        });
      }
      if (req.method === 'GET' && req.path === '/' + PALETTE_CATALOGUE) {
        res.type('application/json').send(JSON.stringify({ name: 'Flowgate', updated_at: startedAt, modules: [] }));
        return;
      }
      return next();
    }
    res.status(401).set('WWW-Authenticate', 'Bearer').type('text/plain').send('Served through the Flowgate platform only.');
  }

  /**
   * A hosted instance's endpoints answer only what came through the platform's proxy, which
   * adds the key (and its own sign-in, when the owner chose it). The key goes no further.
   * @param {{ headers: Record<string, string | string[] | undefined> }} req
   * @param {string} key
   */
  function endpointKeyMatches(req, key) {
    const given = Buffer.from(String(req.headers['x-flowgate-endpoint-key'] || ''), 'utf8');
    const expected = Buffer.from(key, 'utf8');
    delete req.headers['x-flowgate-endpoint-key'];
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * @param {GateRequest} req
   * @param {GateResponse} res
   * @param {() => void} next
   */
  function endpointGate(req, res, next) {
    if (endpointKey === null || endpointKeyMatches(req, endpointKey)) return next();
    res.status(401).send('Served through the Flowgate platform only.');
  }

  // WebSockets under httpNodeRoot too (WebSocket nodes, a dashboard's socket.io). Node-RED has
  // no hook in front of them: httpNodeAuth sees HTTP requests only, and each of those takes
  // 'upgrade' from the server itself. So Node-RED's own server, the one on uiPort, checks the
  // key before any of its upgrade listeners hears of the request.
  if (endpointKey !== null) {
    const emit = http.Server.prototype.emit;
    /**
     * @this {http.Server}
     * @param {string | symbol} event
     * @param {...unknown} args
     */
    const gatedEmit = function (event, ...args) {
      if (event === 'upgrade') {
        const [req, socket] = /** @type {[http.IncomingMessage, import('node:stream').Duplex]} */ (args);
        const address = this.address();
        const pathname = String(req.url || '').split('?')[0] || '';
        if (address !== null && typeof address === 'object' && address.port === values.port && pathname.startsWith(values.httpNodeRoot) && !endpointKeyMatches(req, endpointKey)) {
          socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return true;
        }
      }
      return Reflect.apply(emit, this, [event, ...args]);
    };
    http.Server.prototype.emit = gatedEmit;
  }

  function flowgateLogHandler() {
    /** @param {NodeRedLogMessage} msg */
    return (msg) => {
      if (msg.level === 98) {
        const user = msg.user && typeof msg.user === 'object' ? /** @type {Record<string, unknown>} */ (msg.user) : null;
        // Node-RED tries its own session tokens before adminAuth.tokens() and audits the
        // miss without a user. Sessions cannot exist here (no users, no login), so that
        // event says nothing; refuse() above audits a token that really fails, with why.
        if (msg.event === 'auth.invalid-token' && !user) return;
        // Said with its user by adminGate above.
        if (msg.event === 'library.set' && !user) return;
        // Reads (flows.get, nodes.list.get, nodes.icons.get, ...) are not forwarded: the editor
        // makes several at every load and refresh, and they would bury the changes. The
        // platform records who opened the editor, and with what rights; a read that failed
        // still comes through.
        if (String(msg.event).endsWith('.get') && msg.error === undefined) return;
        // The editor's WebSocket opening, signing in and closing: three events at every open
        // of the editor, and again at every reconnect, named only by Node-RED. The platform
        // records the editor's opening itself, with who and with which rights
        // (instance.editor.opened, device.editor.opened); a failed sign-in on the socket
        // (comms.auth.fail) still comes through.
        if (EDITOR_CONNECTION_EVENTS.has(String(msg.event))) return;
        /** @type {Record<string, unknown>} */
        const details = {};
        for (const key of Object.keys(msg)) {
          if (key !== 'level' && key !== 'event' && key !== 'user' && key !== 'timestamp') details[key] = msg[key];
        }
        if (user && typeof user.userId === 'string') details.userId = user.userId;
        /** @type {Record<string, unknown>} */
        let plain;
        try {
          plain = JSON.parse(JSON.stringify(details));
        } catch {
          plain = { unserializable: true };
        }
        send({
          kind: 'audit',
          event: String(msg.event),
          user: user && typeof user.username === 'string' ? user.username : null,
          ts: typeof msg.timestamp === 'number' ? msg.timestamp : Date.now(),
          details: plain,
        });
        return;
      }
      const prefix = msg.type ? '[' + msg.type + ':' + (msg.name || msg.id) + '] ' : '';
      let text = prefix + asText(msg.msg);
      if (text.length > MAX_LOG_CHARS) text = text.slice(0, MAX_LOG_CHARS) + '…';
      send({ kind: 'log', level: LEVEL_NAMES[msg.level] || String(msg.level), ts: typeof msg.timestamp === 'number' ? msg.timestamp : Date.now(), msg: text });
    };
  }

  return {
    uiHost: values.host ?? '127.0.0.1',
    uiPort: values.port,
    httpAdminRoot: values.httpAdminRoot,
    httpNodeRoot: values.httpNodeRoot,
    // In front of every HTTP request under httpNodeRoot (HTTP-in nodes, dashboards, other
    // nodes' routes); WebSockets there are gated above.
    httpNodeAuth: endpointGate,
    httpAdminMiddleware: adminGate,
    credentialSecret: values.credentialSecret,
    flowFile: 'flows.json',
    disableEditor: false,
    safeMode: values.safeMode,
    // The agent learns what the runtime does from its log lines ("Started flows",
    // "Waiting for missing types", "Updated flows"): one language keeps them stable.
    lang: 'en-US',
    editorTheme: {
      page: { title: 'Flowgate' },
      header: { title: 'Flowgate' },
      // Versions live in the platform's snapshots, not in a git repository per runtime.
      projects: { enabled: false },
      // The welcome tour covered the canvas at a person's first open of every instance.
      tours: false,
      palette: { catalogues: [PALETTE_CATALOGUE] },
    },
    // The platform decides which Node-RED runs; nothing here calls out for versions.
    telemetry: { enabled: false, updateNotification: false },
    externalModules: {
      palette: { allowList: [...values.palette.allowList], denyList: [...values.palette.denyList] },
      // A function node's own npm modules (its Setup tab) are installed too: the same policy.
      modules: { allowList: [...values.palette.allowList], denyList: [...values.palette.denyList] },
    },
    adminAuth: {
      type: 'credentials',
      users: [],
      /** @param {unknown} token */
      tokens: (token) => Promise.resolve(verifyEditorToken(token)),
    },
    logging: {
      flowgate: { level: 'info', audit: true, metrics: false, handler: flowgateLogHandler },
    },
  };
}

exports.nodeRedSettings = nodeRedSettings;
exports.readNodeRedSettingsValues = readNodeRedSettingsValues;
