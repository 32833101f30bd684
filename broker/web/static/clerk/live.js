/* The session's live stream (GET /api/live, server-sent events) and the "Mất kết nối" band.
 *
 *   var live = new Motcua.Live('/api/live', {counter: fn, counters: fn, call: fn, alarms: fn, ended: fn,
 *                                            down: fn, up: fn});
 *   live.start(); live.stop();
 *
 * `down` is called once when the stream is lost, `up` once when data flows again (the page
 * re-reads its counter then: what happened meanwhile was not streamed to it).
 * EventSource reconnects by itself after a network error; when it gives up (readyState CLOSED:
 * the server answered with an error) a new one is made, after 1, 2, 4 … 30 s.
 * The server's `: keepalive` lines are SSE comments, which a page never sees; so 35 s of silence
 * is checked with a ping: no answer means the line is down, an answer means the stream may be
 * stuck on a dead connection (a phone that slept, a Wi-Fi roam), so it is made again quietly.
 */
(function () {
  'use strict';
  var M = window.Motcua = window.Motcua || {};
  var SILENCE_MS = 35000;
  var EVENTS = ['counter', 'counters', 'call', 'alarms', 'ended', 'keepalive'];

  function Live(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.es = null;
    this.isDown = false;
    this.lastSeen = Date.now();
    this.backoff = 1000;
    this.retryTimer = null;
    this.watch = null;
    this.probing = false;
  }

  Live.prototype.start = function () {
    var self = this;
    this.stop();
    this.lastSeen = Date.now();
    this.open();
    this.watch = setInterval(function () { self.check(); }, 5000);
    this.onVisible = function () { if (!document.hidden) self.check(); };
    document.addEventListener('visibilitychange', this.onVisible);
  };

  Live.prototype.stop = function () {
    if (this.es) this.es.close();
    this.es = null;
    clearInterval(this.watch);
    clearTimeout(this.retryTimer);
    if (this.onVisible) document.removeEventListener('visibilitychange', this.onVisible);
    this.onVisible = null;
    this.setDown(false, true);
  };

  Live.prototype.open = function () {
    var self = this;
    if (this.es) this.es.close();
    var es = this.es = new EventSource(this.url, { withCredentials: true });
    es.onopen = function () { self.alive(); };
    es.onerror = function () {
      if (self.es !== es) return;
      self.setDown(true);
      if (es.readyState === 2) {          // CLOSED: EventSource will not try again by itself
        es.close();
        clearTimeout(self.retryTimer);
        self.retryTimer = setTimeout(function () { if (self.es === es) self.open(); }, self.backoff);
        self.backoff = Math.min(self.backoff * 2, 30000);
      }
    };
    EVENTS.forEach(function (name) {
      es.addEventListener(name, function (ev) {
        if (self.es !== es) return;
        self.alive();
        var fn = self.h[name];
        if (!fn) return;
        var data = null;
        try { data = ev.data ? JSON.parse(ev.data) : null; } catch (e) { return; }
        fn(data);
      });
    });
  };

  Live.prototype.alive = function () {
    this.lastSeen = Date.now();
    this.backoff = 1000;
    this.setDown(false);
  };

  Live.prototype.setDown = function (down, quiet) {
    if (down === this.isDown) return;
    this.isDown = down;
    document.getElementById('offline').hidden = !down;
    document.body.classList.toggle('is-offline', down);    // the page moves down, under the band
    if (quiet) return;
    var fn = down ? this.h.down : this.h.up;
    if (fn) fn();
  };

  Live.prototype.check = async function () {
    if (!this.es || this.probing || Date.now() - this.lastSeen < SILENCE_MS) return;
    this.probing = true;
    try {
      await M.api.get('/api/ping');
      this.lastSeen = Date.now();
      this.open();                          // the line is up: a fresh stream, in case this one is stuck
    } catch (e) {
      this.setDown(true);
      if (this.es.readyState !== 0) this.open();   // not already trying again by itself
    } finally {
      this.probing = false;
    }
  };

  M.Live = Live;
})();
