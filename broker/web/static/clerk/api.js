/* The hall server's web API as the clerk's page uses it (contract: docs/web.md).
 * ES2017 only (old Android Chrome): no ?. or ??, no class fields, no modules.
 *
 *   Motcua.api.get('/api/me')                       -> data, or throws ApiError / NetError
 *   Motcua.api.post('/api/logout', {})
 *   Motcua.api.send('/api/counters/2/call-next', {id: tapId}, onRetry)
 *       retries a request that got no reply with the SAME body (the same id), so the server answers
 *       it once: a tap that reached the hall before the line dropped calls one citizen, not two.
 */
(function () {
  'use strict';
  var M = window.Motcua = window.Motcua || {};
  var csrf = null;
  var TIMEOUT_MS = 10000;     // a reply slower than this is taken as lost (then retried with the same id)
  var RETRY_FOR_MS = 30000;   // how long one tap keeps retrying before the clerk is told
  var RETRIED = ['busy', 'internal'];

  function ApiError(status, error) {
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code || 'error';
    this.message = error.message || 'Máy chủ từ chối yêu cầu.';
    this.detail = error.detail || '';
    this.error = error;          // the extra keys: minutes, tries_left
  }
  ApiError.prototype = Object.create(Error.prototype);

  function NetError(why) {
    this.name = 'NetError';
    this.message = 'Không kết nối được máy chủ. Vui lòng kiểm tra mạng.';
    this.detail = why || '';
  }
  NetError.prototype = Object.create(Error.prototype);

  function sleep(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }

  /** A fresh request id for one tap: 96 random bits as hex (the contract allows 1-64 chars). */
  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += ('0' + bytes[i].toString(16)).slice(-2);
    return out;
  }

  async function call(method, path, body) {
    var headers = { 'Accept': 'application/json' };
    // credentials: Chrome before 72 sent no cookies with fetch() unless asked.
    var opts = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    var timer = null;
    if (window.AbortController) {
      var ctl = new AbortController();
      opts.signal = ctl.signal;
      timer = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    }
    var res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new NetError(String(e));
    } finally {
      if (timer) clearTimeout(timer);
    }
    var json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    if (json && json.ok === true) return json.data;
    // 'busy' (the hall service did not answer in time) may still have been done: retried with
    // the same id like a lost reply, it is answered from the stored reply or done once.
    if (json && json.ok === false && json.error && RETRIED.indexOf(json.error.code) < 0) {
      throw new ApiError(res.status, json.error);
    }
    // Not the hall server's JSON (a proxy's error page, a cut reply): as good as no reply.
    throw new NetError('HTTP ' + res.status);
  }

  /** POST an action; on a lost reply send the same body again until RETRY_FOR_MS has passed. */
  async function send(path, body, onRetry) {
    var started = Date.now();
    var delay = 500;
    for (;;) {
      try {
        return await call('POST', path, body);
      } catch (e) {
        if (!(e instanceof NetError) || Date.now() - started > RETRY_FOR_MS) throw e;
        if (onRetry) onRetry(e);
        await sleep(delay);
        delay = Math.min(delay * 2, 4000);
      }
    }
  }

  M.ApiError = ApiError;
  M.NetError = NetError;
  M.sleep = sleep;
  M.api = {
    newId: newId,
    setCsrf: function (token) { csrf = token; },
    get: function (path) { return call('GET', path); },
    post: function (path, body) { return call('POST', path, body || {}); },
    send: send
  };
})();
