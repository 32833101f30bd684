/* The clerk's handheld page: log in, choose a counter, serve (docs/clerk-page.md).
 * ES2017, no framework: api.js (requests), live.js (the stream), pad.js (keypad), view.js (drawing).
 *
 * A tap that acts gets a fresh request id; its button is held ("Đang gửi…") until the reply, and
 * every other acting button with it, so a double tap or a nervous second tap cannot call a second
 * citizen. A tap whose reply never came is kept as `pending`: tapping the same button again re-sends
 * the same id, and the hall answers what it already did instead of doing it twice.
 */
(function () {
  'use strict';
  var M = window.Motcua;
  var api = M.api;
  var view = M.view;
  var $ = function (id) { return document.getElementById(id); };
  var ACTING = ['a-recall', 'a-skip', 'a-transfer', 'a-number', 'a-pause', 'a-finish', 'a-next'];
  var PENDING_MS = 120000;     // a tap left unanswered can be re-sent with its id this long

  var S = {
    hall: null,      // GET /api/hall: services and counters for the transfer sheet and call lines
    me: null,        // the logged-in member {id, name, role, counters}
    counter: null,   // the counter held
    view: null,      // its CounterView
    busy: null,      // the button whose request is in flight
    pending: null,   // {key, body, at}: an unanswered tap
    picked: null,    // the name tapped on the login list
    live: null
  };

  var ui = M.ui;
  var show = ui.show, shown = ui.shown, banner = ui.banner, hideBanner = ui.hideBanner;
  var openSheet = ui.openSheet, closeSheets = ui.closeSheets, confirmAsk = ui.confirmAsk, vibrate = ui.vibrate;
  var holdButton = ui.holdButton, releaseButton = ui.releaseButton;

  function counterName(id) {
    var c = S.hall ? S.hall.counters.filter(function (x) { return x.id === id; })[0] : null;
    return c ? c.name : 'Quầy ' + id;
  }

  // --- one tap, one request -------------------------------------------------------------------

  /** POST an action for one tap of `btn`; `key` names the tap (the same key may re-send a pending id).
   *  onOk(data) after success; onRefused(e) may take a refusal (true) before the banner shows it. */
  async function tap(btn, key, path, args, onOk, onRefused) {
    if (S.busy) return;
    var body;
    if (S.pending && S.pending.key === key && Date.now() - S.pending.at < PENDING_MS) body = S.pending.body;
    else body = Object.assign({ id: api.newId() }, args);
    S.pending = null;
    S.busy = btn;
    holdButton(btn, 'Đang gửi…', 'Sending…');
    updateButtons();
    try {
      var data = await api.send(path, body, function () { holdButton(btn, 'Đang gửi lại…', 'Retrying…'); });
      vibrate();
      hideBanner();
      releaseButton(btn);
      S.busy = null;
      await onOk(data);
    } catch (e) {
      if (e instanceof M.NetError) {
        S.pending = { key: key, body: body, at: Date.now() };
        banner('Chưa gửi được vì mất kết nối. Bấm lại nút đó để gửi lại (không gọi trùng).');
      } else if (!(onRefused && e instanceof M.ApiError && onRefused(e))) {
        refused(e);
      }
    } finally {
      if (S.busy === btn) releaseButton(btn);
      S.busy = null;
      updateButtons();
    }
  }

  /** A refusal from the hall: its Vietnamese message, and a new screen when the session or counter is gone. */
  function refused(e) {
    if (!(e instanceof M.ApiError)) { banner(e.message || String(e)); return; }
    if (e.code === 'no_session' || e.status === 401) {
      showStaff();
      banner('Phiên làm việc đã hết. Vui lòng đăng nhập lại.');
      return;
    }
    banner(e.message);
    if (e.code === 'counter_not_held' || (e.code === 'counter_held' && shown('s-main'))) showCounters();
    if (e.code === 'csrf') resume();
  }

  // --- log in ---------------------------------------------------------------------------------

  async function showStaff() {
    if (S.live) S.live.stop();
    S.live = null;
    S.me = S.counter = S.view = S.pending = null;
    showAlarms(null);   // only a logged-in page hears of them
    api.setCsrf(null);
    show('s-staff');
    if (S.hall) $('hall-name').textContent = S.hall.hall.name;
    var box = $('staff-list');
    box.innerHTML = '';
    var data;
    try {
      data = await api.get('/api/staff');
    } catch (e) {
      banner(e.message);
      box.appendChild(view.make('button', 'btn wide', 'Thử lại', 'Try again')).onclick = showStaff;
      return;
    }
    if (!data.staff.length) {
      box.appendChild(view.make('p', 'note', 'Chưa có tài khoản cán bộ nào. Vui lòng báo quản trị viên.',
        'No staff accounts yet: ask the administrator.'));
    }
    data.staff.forEach(function (m) {
      var b = view.make('button', 'card person', m.name, m.role === 'leader' ? 'Lãnh đạo · Leader' : '');
      b.addEventListener('click', function () { pickStaff(m); });
      box.appendChild(b);
    });
  }

  var pinPad = null;
  function pickStaff(m) {
    S.picked = m;
    $('pin-name').textContent = m.name;
    pinMessage(null);
    pinPad.clear();
    show('s-pin');
  }

  function pinMessage(text) {
    $('pin-msg').hidden = !text;
    $('pin-msg').textContent = text || '';
  }

  function drawPin(value) {
    var box = $('pin-dots');
    box.innerHTML = '';
    for (var i = 0; i < Math.max(4, value.length); i++) {
      var d = document.createElement('span');
      d.className = 'dot' + (i < value.length ? ' on' : '');
      box.appendChild(d);
    }
    box.setAttribute('aria-label', value.length + ' số đã nhập');
    if (value) pinMessage(null);
    $('pin-go').disabled = value.length < 4 || $('pin-go').classList.contains('sending');
  }

  async function login() {
    var btn = $('pin-go');
    if (btn.disabled) return;
    var pin = pinPad.value;
    holdButton(btn, 'Đang kiểm tra…', 'Checking…');
    try {
      // A nonce per try: the server takes each once (a replayed login form is refused).
      var nonce = (await api.get('/api/login/nonce')).nonce;
      var r = await api.post('/api/login', { staff: S.picked.id, pin: pin, nonce: nonce });
      api.setCsrf(r.csrf);
      S.me = r.staff;
      vibrate();
      releaseButton(btn);
      pinPad.clear();
      startLive();
      await showCounters();
    } catch (e) {
      releaseButton(btn);
      pinPad.clear();
      // wrong_pin says how many tries are left, locked how many minutes; login_expired asks again.
      pinMessage(e.message);
    }
  }

  async function resume() {
    try {
      if (!S.hall) S.hall = await api.get('/api/hall');
      var me = await api.get('/api/me');
      api.setCsrf(me.csrf);
      S.me = me.staff;
      if (!S.live) startLive();
      if (me.counter !== null && me.counter !== undefined) await openCounter(me.counter);
      else await showCounters();
    } catch (e) {
      if (e instanceof M.ApiError && e.status === 401) { showStaff(); return; }
      banner(e.message);
      setTimeout(resume, 3000);
    }
  }

  async function logout() {
    try {
      await api.post('/api/logout', {});
    } catch (e) {
      if (!(e instanceof M.ApiError && e.status === 401)) { banner(e.message); return; }
    }
    showStaff();
  }

  // --- the counter ----------------------------------------------------------------------------

  async function showCounters() {
    S.counter = S.view = null;
    show('s-counters');
    view.bi($('counters-who'), S.me.name, 'Chọn quầy bạn làm việc hôm nay · Choose today’s counter');
    try {
      var data = await api.get('/api/counters');
      view.counters(data.counters, S.me, pickCounter);
    } catch (e) {
      refused(e);
    }
  }

  function pickCounter(c, btn) {
    if (c.held_by !== null && c.held_by !== undefined && c.held_by !== S.me.id) {
      confirmAsk(c.name + ' đang do ' + (c.held_by_name || 'cán bộ khác') + ' làm việc. Nhận thay?',
        function () { hold(c, true, btn); });
    } else {
      hold(c, false, btn);
    }
  }

  function hold(c, takeOver, btn) {
    tap(btn, 'hold-' + c.id + (takeOver ? '-over' : ''), '/api/counters/' + c.id + '/hold',
      { take_over: takeOver }, function () { return openCounter(c.id); },
      function (e) {
        if (e.code !== 'counter_held' || takeOver) return false;
        // Someone took it between the list and the tap: ask, as for a counter shown held.
        confirmAsk(c.name + ' đang do ' + (e.error.held_by_name || c.held_by_name || 'cán bộ khác') +
          ' làm việc. Nhận thay?', function () { hold(c, true, btn); });
        return true;
      });
  }

  async function openCounter(n) {
    S.counter = n;
    if (!shown('s-main')) show('s-main');
    await refreshCounter();
  }

  async function refreshCounter() {
    if (S.counter === null) return;
    try {
      draw(await api.get('/api/counters/' + S.counter));
    } catch (e) {
      refused(e);
    }
  }

  function draw(v) {
    S.view = v;
    view.counter(v, S.me);
    updateButtons();
  }

  function updateButtons() {
    var v = S.view;
    var t = v && v.current;
    var busy = !!S.busy;
    var off = {
      'a-recall': !t, 'a-skip': !t, 'a-transfer': !t, 'a-finish': !t,
      'a-next': !v || v.paused, 'a-number': !v || v.paused, 'a-pause': !v
    };
    ACTING.forEach(function (id) {
      var b = $(id);
      if (b === S.busy) return;
      b.disabled = busy || off[id];
    });
    var pause = $('a-pause');
    if (pause !== S.busy && v) {
      pause.dataset.action = v.paused ? 'resume' : 'pause';
      view.bi(pause, v.paused ? 'Tiếp tục' : 'Tạm dừng', v.paused ? 'Resume' : 'Pause');
      pause.classList.toggle('on', v.paused);
    }
  }

  function act(btn) {
    var action = btn.dataset.action;
    tap(btn, action, '/api/counters/' + S.counter + '/' + action, {}, refreshCounter);
  }

  function openTransfer() {
    var t = S.view && S.view.current;
    if (!t || !S.hall) return;
    $('tr-title').textContent = 'Chuyển số ' + t.label + ' đến…';
    var svc = $('tr-services');
    svc.innerHTML = '';
    S.hall.services.filter(function (s) { return s.id !== t.service; }).forEach(function (s) {
      var b = view.make('button', 'card choice', s.name);
      b.addEventListener('click', function () {
        transfer(b, { service: s.id }, 'Đã chuyển số ' + t.label + ' sang ' + s.name + '.');
      });
      svc.appendChild(b);
    });
    var ctr = $('tr-counters');
    ctr.innerHTML = '';
    S.hall.counters.filter(function (c) { return c.id !== S.counter; }).forEach(function (c) {
      var b = view.make('button', 'card choice', c.name);
      b.addEventListener('click', function () {
        transfer(b, { to_counter: c.id }, 'Đã chuyển số ' + t.label + ' sang ' + c.name + '.');
      });
      ctr.appendChild(b);
    });
    openSheet('sh-transfer');
  }

  function transfer(btn, args, done) {
    tap(btn, 'transfer-' + JSON.stringify(args), '/api/counters/' + S.counter + '/transfer', args, function () {
      closeSheets();
      banner(done, 'ok');
      return refreshCounter();
    });
  }

  var numberPad = null;
  function drawNumber(value) {
    $('nb-typed').textContent = value || '';
    $('nb-typed').classList.toggle('empty', !value);
    $('nb-go').disabled = !value || $('nb-go').classList.contains('sending');
  }

  function callNumber() {
    var btn = $('nb-go');
    var number = numberPad.value;
    if (!number) return;
    tap(btn, 'call-ticket-' + number, '/api/counters/' + S.counter + '/call-ticket', { ticket: number },
      function () { closeSheets(); numberPad.clear(); return refreshCounter(); });
  }

  // --- live -----------------------------------------------------------------------------------

  var callTimer = null;
  function showCall(c) {
    if (c.counter === S.counter) return;          // our own call is the big number already
    var line = $('m-call');
    view.bi(line, counterName(c.counter) + (c.recall ? ' gọi lại số ' : ' gọi số ') + c.ticket);
    line.classList.add('fresh');
    clearTimeout(callTimer);
    callTimer = setTimeout(function () { line.classList.remove('fresh'); }, 5000);
  }

  async function checkStillHeld() {
    // The counter as it was when asked: a `counter` and a `counters` event may both ask, and the
    // first answer leaves the counter (S.counter = null) while the second is still waiting.
    var mine = S.counter;
    if (mine === null || S.checking === mine) return;
    S.checking = mine;
    try {
      var me = await api.get('/api/me');
      if (me.counter !== mine && S.counter === mine && shown('s-main')) {
        var lost = await api.get('/api/counters/' + mine);
        banner(counterName(mine) + ' đã được ' + (lost.held_by_name || 'cán bộ khác') + ' nhận thay.');
        showCounters();
      }
    } catch (e) {
      refused(e);
    } finally {
      S.checking = null;
    }
  }

  /** The hall server's alarms ({alarms: [{code, message}]}): a band that stays until they are over. */
  function showAlarms(d) {
    var box = $('alarms'), list = (d && d.alarms) || [];
    box.textContent = '';
    list.forEach(function (a) {
      var p = document.createElement('p');
      p.textContent = '⚠ ' + a.message;
      box.appendChild(p);
    });
    box.hidden = list.length === 0;
  }

  function startLive() {
    if (S.live) S.live.stop();
    S.live = new M.Live('/api/live', {
      counter: function (v) {
        if (v.id !== S.counter || !shown('s-main')) return;
        if (v.held_by !== S.me.id) checkStillHeld();
        else draw(v);
      },
      counters: function (d) {
        if (shown('s-counters')) view.counters(d.counters, S.me, pickCounter);
        else if (shown('s-main')) checkStillHeld();
      },
      call: showCall,
      alarms: showAlarms,
      ended: function () {
        showStaff();
        banner('Phiên làm việc đã kết thúc. Vui lòng đăng nhập lại.');
      },
      up: function () {
        // What happened while the stream was down was not streamed: read it once.
        if (shown('s-main')) refreshCounter();
        else if (shown('s-counters')) showCounters();
      }
    });
    S.live.start();
  }

  // --- wiring ---------------------------------------------------------------------------------

  function boot() {
    $('banner-close').onclick = hideBanner;
    $('sheet-bg').onclick = closeSheets;
    Array.prototype.forEach.call(document.querySelectorAll('.js-close'), function (b) { b.onclick = closeSheets; });
    Array.prototype.forEach.call(document.querySelectorAll('.js-logout'), function (b) { b.onclick = logout; });
    pinPad = new M.Pad($('pin-pad'), 8, drawPin);
    numberPad = new M.Pad($('nb-pad'), 6, drawNumber);
    drawPin('');
    drawNumber('');
    $('pin-back').onclick = showStaff;
    $('pin-go').onclick = login;
    $('m-switch').onclick = showCounters;
    ['a-recall', 'a-skip', 'a-pause', 'a-finish', 'a-next'].forEach(function (id) {
      $(id).onclick = function () { act($(id)); };
    });
    $('a-transfer').onclick = openTransfer;
    $('a-number').onclick = function () { numberPad.clear(); openSheet('sh-number'); };
    $('nb-go').onclick = callNumber;
    resume();
  }

  M.clerk = { state: S };    // for a look from the browser's console (and the tests' screenshots)
  boot();
})();
