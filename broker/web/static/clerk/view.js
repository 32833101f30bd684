/* Drawing the clerk's screens from the server's views (CounterView, the counters list); no requests here.
 *
 *   Motcua.view.counter(counterView, me)        the one screen of a held counter
 *   Motcua.view.counters(list, me, onPick)      the counters to choose from
 *   Motcua.view.bi(el, 'Gọi lại', 'Call again') replaces el's text with the two languages
 */
(function () {
  'use strict';
  var M = window.Motcua = window.Motcua || {};
  var $ = function (id) { return document.getElementById(id); };

  function span(cls, text, lang) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    if (lang) s.lang = lang;
    return s;
  }

  /** Vietnamese first, English second (smaller), as every label of the page. */
  function bi(el, vi, en) {
    el.innerHTML = '';
    el.appendChild(span('vi', vi));
    if (en) el.appendChild(span('en', en, 'en'));
    return el;
  }

  function make(tag, cls, vi, en) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (tag === 'button') el.type = 'button';
    return bi(el, vi, en);
  }

  function minutes(seconds) {
    var m = Math.floor(seconds / 60);
    if (m < 1) return ['dưới 1 phút', '< 1 min'];
    return [m + ' phút', m + ' min'];
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return ['—', '—'];
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    if (m === 0) return [s + ' giây', s + ' s'];
    return [m + ' phút ' + s + ' giây', m + ' min ' + s + ' s'];
  }

  var STATES = {
    called: ['Đang gọi', 'Calling'],
    serving: ['Đang phục vụ', 'Serving']
  };

  function ticket(v) {
    var t = v.current;
    var card = $('m-ticket');
    card.className = 'ticket ' + (t ? t.state : 'none') + (v.paused ? ' paused' : '');
    if (t) {
      var st = STATES[t.state] || [t.state, ''];
      bi($('t-state'), v.paused ? 'Tạm dừng · ' + st[0] : st[0], v.paused ? 'Paused · ' + st[1] : st[1]);
      var w = minutes(t.waited_s);
      bi($('t-waited'), 'Đã chờ ' + w[0], 'Waited ' + w[1]);
      $('t-number').textContent = t.label;
      $('t-service').textContent = t.service_name;
      $('t-priority').hidden = !t.priority_name;
      if (t.priority_name) bi($('t-priority'), 'Ưu tiên: ' + t.priority_name);
    } else {
      bi($('t-state'), v.paused ? 'Đang tạm dừng' : 'Chưa gọi số nào', v.paused ? 'Paused' : 'No ticket yet');
      $('t-waited').textContent = '';
      $('t-number').textContent = '—';
      bi($('t-service'), v.paused ? 'Bấm “Tiếp tục” để gọi số tiếp' : 'Bấm “Gọi số tiếp theo” bên dưới',
        v.paused ? 'Tap Resume to call again' : 'Tap Call next below');
      $('t-priority').hidden = true;
    }
  }

  function waiting(v) {
    var n = v.pinned_waiting;
    v.services.forEach(function (s) { n += s.waiting; });
    // Vietnamese only here: the bar is narrow; English is the tooltip.
    bi($('m-waiting'), n ? n + ' người đang chờ' : 'Không còn ai chờ');
    $('m-waiting').title = n ? n + ' waiting' : 'Nobody waiting';
    $('m-waiting').className = 'who' + (n ? ' some' : '');
  }

  function lines(v) {
    var box = $('m-lines');
    box.innerHTML = '';
    if (!v.open) box.appendChild(make('p', 'closed', 'Ngoài giờ làm việc', 'Outside opening hours'));
    box.appendChild(make('p', 'sub', 'Đang chờ', 'Waiting'));
    v.services.forEach(function (s) {
      var row = document.createElement('div');
      row.className = 'line' + (s.waiting ? '' : ' empty');
      row.appendChild(span('name', s.name));
      row.appendChild(span('count', String(s.waiting)));
      row.appendChild(span('est', s.waiting ? '~' + s.wait_min + ' phút' : ''));
      box.appendChild(row);
    });
    if (v.pinned_waiting) {
      var own = document.createElement('div');
      own.className = 'line';
      own.appendChild(span('name', 'Chuyển riêng cho quầy này'));
      own.appendChild(span('count', String(v.pinned_waiting)));
      own.appendChild(span('est', ''));
      box.appendChild(own);
    }
  }

  function today(v) {
    var box = $('m-today');
    box.innerHTML = '';
    box.appendChild(make('p', 'sub', 'Hôm nay ở quầy này', 'Today at this counter'));
    var mean = duration(v.today.mean_service_s);
    [[String(v.today.served), 'Đã phục vụ', 'Served'],
      [String(v.today.no_shows), 'Vắng mặt', 'Absent'],
      [mean[0], 'Thời gian phục vụ trung bình', 'Mean service time']].forEach(function (f) {
      var cell = document.createElement('div');
      cell.className = 'figure';
      cell.appendChild(span('value', f[0]));
      cell.appendChild(make('span', 'label', f[1], f[2]));
      box.appendChild(cell);
    });
  }

  function counter(v, me) {
    $('m-counter').textContent = v.name;
    ticket(v);
    waiting(v);
    lines(v);
    today(v);
    var who = make('p', 'clerk-name', 'Cán bộ: ' + me.name, 'Logged in as ' + me.name);
    $('m-today').appendChild(who);
  }

  function held(c) { return c.held_by !== null && c.held_by !== undefined; }

  function counterCard(c, me, onPick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'card counter-card';
    b.dataset.counter = c.id;
    b.disabled = !c.allowed;
    b.appendChild(span('title', c.name));
    b.appendChild(span('services', c.services.join(' · ')));
    var st;
    var cls = 'status';
    if (!c.allowed) st = ['Bạn không được phân công quầy này', 'Not assigned to you'];
    else if (c.held_by === me.id) {
      st = ['Bạn đang làm việc ở quầy này', 'You are working here'];
      cls += ' mine';
    } else if (held(c)) {
      st = ['Đang do ' + (c.held_by_name || 'cán bộ khác') + ' làm việc', 'Taken by a colleague'];
      cls += ' held';
    } else if (c.paused) st = ['Tạm dừng, chưa ai nhận', 'Paused, free'];
    else st = ['Đang trống', 'Free'];
    b.appendChild(make('span', cls, st[0], st[1]));
    b.addEventListener('click', function () { onPick(c, b); });
    return b;
  }

  function counters(list, me, onPick) {
    var box = $('counter-list');
    box.innerHTML = '';
    // The clerk's own counters first; the others stay listed (greyed), so the hall is seen whole.
    list.slice().sort(function (a, b) { return (b.allowed ? 1 : 0) - (a.allowed ? 1 : 0) || a.id - b.id; })
      .forEach(function (c) { box.appendChild(counterCard(c, me, onPick)); });
  }

  M.view = { bi: bi, make: make, counter: counter, counters: counters, held: held };
})();
