/* The ticket page (docs/ticket-page.md): a citizen's own ticket, live, then its rating.
 *
 * Plain ES2017 for old phones' browsers: no ?. or ??, no object spread, no `catch {}`.
 * Server data only ever goes into the page as text (textContent), never as HTML.
 * It asks the hall server about nothing but this ticket: /api/hall (the rating scale and the
 * hall's name), /api/tickets/<code>, its /live stream and its /rate.
 */
(function () {
  "use strict";

  var SILENT_MS = 35000;          // no word from the stream for this long: it is dead
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  var PROBE_MS = 8000;            // a check of the ticket that takes longer than this has failed

  var code = new URLSearchParams(location.search).get("t") || "";
  var base = "/api/tickets/" + encodeURIComponent(code);
  var view = document.getElementById("view");
  var band = document.getElementById("offline");
  var soundBtn = document.getElementById("sound");
  var hint = document.getElementById("hint");

  var hall = null;        // /api/hall's data
  var ticket = null;      // the latest TicketView
  var ended = "";         // "" | "gone" (the day ended) | "unknown" (a wrong or stale code)
  var rated = "";         // "" | "thanks" (this page rated it) | "already" (someone had)
  var picked = null;      // the score waiting for its reason
  var sending = false;
  var sendError = null;   // [vi, en] of the last failed rating
  var lastTap = null;     // {key, id}: a rating re-tapped after a failure re-sends its request id

  var es = null, lastWord = 0, tries = 0, retryTimer = null;
  var namedKeepalive = false;   // the server sends `event: keepalive` (not only `: keepalive` comments)

  // --- small helpers -------------------------------------------------------

  function el(tag, cls, kids) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    (kids || []).forEach(function (k) {
      e.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
    });
    return e;
  }

  // Vietnamese first, English under it, smaller.
  function bi(tag, cls, vi, en) {
    var e = el(tag, cls, [el("span", "vi", typeof vi === "string" ? [vi] : vi)]);
    if (en) {
      var s = el("span", "en", [en]);
      s.lang = "en";
      e.appendChild(s);
    }
    return e;
  }

  function minutesVi(m) {
    var h = Math.floor(m / 60), r = m % 60;
    return h ? (r ? h + " giờ " + r + " phút" : h + " giờ") : r + " phút";
  }

  function minutesEn(m) {
    var h = Math.floor(m / 60), r = m % 60;
    return h ? (r ? h + " h " + r + " min" : h + " h") : r + " min";
  }

  function newId() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // fetch → {status, body} ({status: 0} when the network failed); never rejects.
  function api(path, body) {
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, PROBE_MS) : null;
    var opts = {cache: "no-store", credentials: "same-origin", signal: ctl ? ctl.signal : undefined};
    if (body) {
      opts.method = "POST";
      opts.headers = {"Content-Type": "application/json"};
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, body: j}; },
                           function () { return {status: r.status, body: null}; });
    }, function () { return {status: 0, body: null}; }).then(function (res) {
      clearTimeout(timer);
      return res;
    });
  }

  // --- sound and vibration ---------------------------------------------------

  var media = window.ticketMedia;    // media.js: the chime and the faces
  var soundOn = false;

  function chime() {
    if (soundOn) media.chime();
  }

  function buzz() {
    try {
      if (navigator.vibrate) navigator.vibrate([400, 150, 400]);
    } catch (e) { /* not allowed here: the colour and the sound say it */ }
  }

  function setSoundButton() {
    soundBtn.setAttribute("aria-pressed", soundOn ? "true" : "false");
    soundBtn.className = soundOn ? "sound-btn on" : "sound-btn";
    soundBtn.textContent = "";
    soundBtn.appendChild(soundOn ? bi("span", "", ["Đã bật âm thanh báo", el("small", "", ["Chạm để tắt"])],
                                      "Sound alert on · tap to turn off")
                                 : bi("span", "", "Bật âm thanh báo", "Turn on the sound alert"));
  }

  // Browsers play sound only after a tap: this one unlocks the audio and plays the chime once, as a sample.
  soundBtn.addEventListener("click", function () {
    if (!media.canSound) return;
    soundOn = !soundOn;
    if (soundOn) {
      media.unlock();
      chime();
      buzz();
    }
    setSoundButton();
  });

  // --- the live stream -----------------------------------------------------

  function setOnline(up) { band.hidden = up; }

  function heard() {
    lastWord = Date.now();
    tries = 0;
    setOnline(true);
  }

  function stopStream() {
    if (es) es.close();
    es = null;
    clearTimeout(retryTimer);
    retryTimer = null;
  }

  function finish(how) {
    stopStream();
    if (!ended) ended = how;
    setOnline(true);
    render();
  }

  function connect() {
    stopStream();
    if (rated || ended) return;    // nothing more will change
    lastWord = Date.now();
    es = new EventSource(base + "/live");
    es.addEventListener("ticket", function (e) {
      heard();
      var t = null;
      try { t = JSON.parse(e.data); } catch (err) { return; }
      show(t);
    });
    es.addEventListener("gone", function () { finish("gone"); });
    es.addEventListener("ended", function () { finish("gone"); });
    es.addEventListener("keepalive", function () { namedKeepalive = true; heard(); });
    es.onmessage = heard;
    es.onerror = function () { down(); };
  }

  // The stream failed: show the band and try again later, a little later each time (with some
  // randomness, so a hall server that restarts is not hit by every phone in the same second).
  function down() {
    stopStream();
    if (ended) return;
    setOnline(false);
    var wait = BACKOFF_MS[Math.min(tries, BACKOFF_MS.length - 1)] * (0.8 + Math.random() * 0.4);
    tries += 1;
    retryTimer = setTimeout(check, wait);
  }

  // The hall's name and rating scale; asked again at each reconnection until it has come.
  function loadHall() {
    api("/api/hall").then(function (res) {
      if (hall || res.status !== 200 || !res.body || !res.body.ok) return;
      hall = res.body.data;
      document.getElementById("hall-name").textContent = hall.hall.name;
      document.getElementById("hall-name-en").textContent = hall.hall.name_en || "";
      render();
    });
  }

  // Before reopening the stream, ask once: a 404 means the ticket is gone for good, not a network fault.
  function check() {
    retryTimer = null;
    if (!hall) loadHall();
    api(base).then(function (res) {
      if (res.status === 200 && res.body && res.body.ok) {
        show(res.body.data);
        connect();
      } else if (res.status === 404) {
        finish(ticket ? "gone" : "unknown");
      } else {
        down();
      }
    });
  }

  // EventSource cannot see `: keepalive` comments, so a quiet stream looks like a dead one. With
  // named keepalive events, silence is a real fault; without them, ask the ticket first and, when it
  // answers, reopen the stream quietly, without the band.
  setInterval(function () {
    if (!es || Date.now() - lastWord < SILENT_MS) return;
    if (namedKeepalive) {
      down();
    } else {
      stopStream();
      check();
    }
  }, 5000);

  function retryNow() {
    if (retryTimer && !ended) {
      clearTimeout(retryTimer);
      check();
    }
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) retryNow(); });
  window.addEventListener("online", retryNow);

  // --- state changes ---------------------------------------------------------

  function show(t) {
    var before = ticket ? ticket.state : null;
    ticket = t;
    if (t.state === "called" && before !== null && before !== "called") {
      chime();
      buzz();
    }
    if (t.rating !== null && t.rating !== undefined && !rated && !sending) rated = "already";
    if (rated) stopStream();    // a rated ticket changes no more
    render();
  }

  function rate(score, reason) {
    if (sending) return;
    var key = score + "/" + (reason || "");
    if (!lastTap || lastTap.key !== key) lastTap = {key: key, id: newId()};
    var body = {id: lastTap.id, score: score};
    if (reason) body.reason = reason;
    sending = true;
    sendError = null;
    render();
    api(base + "/rate", body).then(function (res) {
      sending = false;
      var err = res.body && res.body.error ? res.body.error : null;
      if (res.status === 200) {
        rated = "thanks";
      } else if (err && err.code === "already_rated") {
        rated = "already";
      } else if (res.status === 404) {
        finish("gone");
        return;
      } else if (err) {
        sendError = [err.message, err.detail || ""];
      } else {
        sendError = ["Chưa gửi được đánh giá. Vui lòng thử lại.", "Your rating was not sent. Please try again."];
      }
      if (rated) stopStream();
      render();
    });
  }

  // --- drawing ---------------------------------------------------------------

  function button(cls, vi, en, onTap, kids) {
    var b = el("button", cls, kids || []);
    b.type = "button";
    b.appendChild(bi("span", "words", vi, en));
    b.disabled = sending;
    b.addEventListener("click", onTap);
    return b;
  }

  function ratingBlock() {
    var screen = hall.rating_screen || {};
    var reasons = screen.reasons || [];
    var box = el("section", "rating");
    if (picked === null) {
      box.appendChild(bi("h2", "ask", "Mời ông/bà đánh giá sự phục vụ", "Please rate our service"));
      var levels = hall.rating.slice().sort(function (a, b) { return a.score - b.score; });
      var n = levels.length;
      levels.forEach(function (r, i) {
        var mood = n > 1 ? -1 + 2 * i / (n - 1) : 1;
        box.appendChild(button("face-btn", r.name, r.name_en, function () {
          if (r.score <= (screen.ask_reason_at_most || 0) && reasons.length) {
            picked = r.score;
            render();
          } else {
            rate(r.score, null);
          }
        }, [media.face(mood)]));
      });
    } else {
      box.appendChild(bi("h2", "ask", "Ông/bà chưa hài lòng vì điều gì?", "What was not right?"));
      reasons.forEach(function (r) {
        box.appendChild(button("reason-btn", r.name, r.name_en, function () { rate(picked, r.id); }));
      });
      box.appendChild(button("reason-btn skip", "Bỏ qua", "Skip", function () { rate(picked, null); }));
      box.appendChild(button("link-btn", "← Chọn lại mức đánh giá", "Back to the faces", function () {
        picked = null;
        render();
      }));
    }
    if (sending) box.appendChild(bi("p", "note", "Đang gửi…", "Sending…"));
    if (sendError) box.appendChild(bi("p", "error", sendError[0], sendError[1]));
    return box;
  }

  // Once the service is over the number matters less than what follows (the faces): a smaller card.
  function numberCard(t) {
    var live = !ended && ["waiting", "called", "serving"].indexOf(t.state) >= 0;
    return el("section", live ? "card" : "card compact", [
      bi("p", "caption", "Số của bạn", "Your number"),
      el("p", "number", [t.label]),
      bi("p", "service", t.service_name, t.service_name_en)
    ]);
  }

  function status(t) {
    var counterVi = t.counter_name || (t.counter ? "Quầy " + t.counter : "quầy");
    var counterEn = t.counter_name_en || (t.counter ? "Counter " + t.counter : "the counter");
    switch (t.state) {
    case "waiting":
      if (t.ahead === 0) return bi("p", "status", "Bạn là người tiếp theo", "You are next");
      if (typeof t.ahead !== "number") return bi("p", "status", "Đang chờ gọi số", "Waiting to be called");
      var vi = "Còn " + t.ahead + " người trước bạn", en = t.ahead + (t.ahead === 1 ? " person" : " people") + " ahead of you";
      if (t.wait_min) {
        vi += " · khoảng " + minutesVi(t.wait_min);
        en += " · about " + minutesEn(t.wait_min);
      }
      return bi("p", "status", vi, en);
    case "called":
      return bi("h1", "turn", ["Đến lượt bạn — mời đến ", el("b", "counter", [counterVi])],
                "It's your turn — please go to " + counterEn);
    case "serving":
      return bi("p", "status", "Ông/bà đang được phục vụ tại " + counterVi, "You are being served at " + counterEn);
    case "finished":
      if (rated === "thanks") return bi("h2", "done", "Cảm ơn ông/bà đã đánh giá", "Thank you for your feedback");
      if (rated === "already") {
        return bi("h2", "done", "Phiếu này đã được đánh giá. Cảm ơn ông/bà!", "This ticket has been rated. Thank you!");
      }
      if (t.can_rate && hall && hall.rating && hall.rating.length) return ratingBlock();
      return bi("h2", "done", "Đã phục vụ xong. Cảm ơn ông/bà!", "Your service is complete. Thank you!");
    case "no_show":
      return bi("p", "status warn", "Số của bạn đã được gọi nhưng ông/bà không có mặt. Vui lòng liên hệ cán bộ tại quầy.",
                "Your number was called but you were not there. Please ask a clerk at the counter.");
    case "expired":
      return bi("p", "status warn", "Phiếu này đã hết hạn vì ngày làm việc đã kết thúc. Nếu cần, vui lòng lấy số mới.",
                "This ticket expired when the working day ended. Please take a new number if you need one.");
    default:
      return bi("p", "status", "Trạng thái phiếu: " + t.state, "");
    }
  }

  function render() {
    view.textContent = "";
    document.body.className = "st-" + (ended || (ticket ? ticket.state : "loading"));
    if (ended === "unknown") {
      view.appendChild(bi("h1", "turn", "Không tìm thấy phiếu", "Ticket not found"));
      view.appendChild(bi("p", "status", "Mã trên phiếu không đúng hoặc phiếu đã cũ. Vui lòng quét lại mã QR " +
                          "trên phiếu hoặc hỏi cán bộ tại Bộ phận Một cửa.",
                          "The code is wrong or the ticket is old. Scan the QR code again or ask a clerk."));
      document.title = "Không tìm thấy phiếu · Ticket not found";
      return;
    }
    if (ticket) view.appendChild(numberCard(ticket));
    if (ended === "gone") {
      view.appendChild(bi("p", "status warn", "Ngày làm việc đã kết thúc. Phiếu này không còn được theo dõi.",
                          "The working day has ended. This ticket is no longer followed."));
    } else if (ticket) {
      view.appendChild(status(ticket));
    } else {
      view.appendChild(bi("p", "note", "Đang tải thông tin phiếu…", "Loading your ticket…"));
    }
    var following = !ended && ticket && ["waiting", "called"].indexOf(ticket.state) >= 0;
    soundBtn.hidden = !media.canSound || !following;
    hint.hidden = !following || ticket.state !== "waiting";
    document.title = ticket ? (ticket.state === "called" ? "Đến lượt bạn — " + (ticket.counter_name || "") :
                               "Số " + ticket.label) + " · " + (hall ? hall.hall.name : "Phiếu số thứ tự")
                            : "Phiếu số thứ tự · Queue ticket";
  }

  // --- start -----------------------------------------------------------------

  setSoundButton();
  if (!/^[0-9A-Za-z.\-]{1,64}$/.test(code)) {
    ended = "unknown";
    render();
    return;
  }
  check();
}());
