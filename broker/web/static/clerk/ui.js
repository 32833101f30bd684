/* The page's furniture: one screen at a time, the banner, the sheets, a held button.
 *
 *   Motcua.ui.show('s-main'); Motcua.ui.banner('…');  Motcua.ui.banner('Đã chuyển.', 'ok')
 *   Motcua.ui.holdButton(btn, 'Đang gửi…', 'Sending…'); Motcua.ui.releaseButton(btn)
 */
(function () {
  'use strict';
  var M = window.Motcua = window.Motcua || {};
  var $ = function (id) { return document.getElementById(id); };
  var SCREENS = ['s-boot', 's-staff', 's-pin', 's-counters', 's-main'];

  function show(id) {
    SCREENS.forEach(function (s) { $(s).hidden = s !== id; });
    closeSheets();
    window.scrollTo(0, 0);
  }

  function shown(id) { return !$(id).hidden; }

  var bannerTimer = null;
  function banner(text, kind) {
    $('banner-text').textContent = text;
    $('banner').className = 'banner ' + (kind || 'error');
    $('banner').hidden = false;
    clearTimeout(bannerTimer);
    bannerTimer = setTimeout(hideBanner, kind === 'ok' ? 3000 : 10000);
  }
  function hideBanner() { $('banner').hidden = true; }

  function openSheet(id) {
    closeSheets();
    $('sheet-bg').hidden = false;
    $(id).hidden = false;
  }
  function closeSheets() {
    ['sh-transfer', 'sh-number', 'sh-confirm', 'sheet-bg'].forEach(function (s) { $(s).hidden = true; });
  }

  function confirmAsk(text, yes) {
    $('cf-text').textContent = text;
    openSheet('sh-confirm');
    $('cf-yes').onclick = function () { closeSheets(); yes(); };
    $('cf-no').onclick = closeSheets;
  }

  function vibrate() { if (navigator.vibrate) navigator.vibrate(40); }

  function holdButton(btn, vi, en) {
    if (!btn.dataset.label) btn.dataset.label = btn.innerHTML;
    btn.classList.add('sending');
    btn.disabled = true;
    M.view.bi(btn, vi, en);
  }
  function releaseButton(btn) {
    if (btn.dataset.label) btn.innerHTML = btn.dataset.label;
    delete btn.dataset.label;
    btn.classList.remove('sending');
    btn.disabled = false;
  }

  M.ui = {
    show: show, shown: shown, banner: banner, hideBanner: hideBanner, openSheet: openSheet,
    closeSheets: closeSheets, confirmAsk: confirmAsk, vibrate: vibrate, holdButton: holdButton,
    releaseButton: releaseButton
  };
})();
