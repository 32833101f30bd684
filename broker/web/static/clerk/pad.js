/* An on-screen numeric pad: big keys 1-9, Xoá (delete one), 0, in a 3×4 grid (0 in the middle of the last row).
 *
 *   var pad = new Motcua.Pad(element, 8, function (digits) { ... });   // called on every change
 *   pad.clear(); pad.value;
 *
 * The phone's own keyboard is never opened: it covers half the screen and, for a PIN field,
 * may offer to remember the PIN.
 */
(function () {
  'use strict';
  var M = window.Motcua = window.Motcua || {};

  function Pad(el, maxLength, onChange) {
    var self = this;
    this.value = '';
    this.max = maxLength;
    this.onChange = onChange;
    el.innerHTML = '';
    ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'del'].forEach(function (key) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'key' + (key === 'del' ? ' del' : '');
      if (key === 'del') {
        b.innerHTML = '<span class="vi">⌫ Xoá</span>';
        b.setAttribute('aria-label', 'Xoá một số');
      } else {
        b.textContent = key;
      }
      b.dataset.key = key;
      b.addEventListener('click', function () { self.press(key); });
      el.appendChild(b);
    });
  }

  Pad.prototype.press = function (key) {
    if (key === 'del') this.value = this.value.slice(0, -1);
    else if (this.value.length < this.max) this.value += key;
    else return;
    this.onChange(this.value);
  };

  Pad.prototype.clear = function () {
    this.value = '';
    this.onChange(this.value);
  };

  M.Pad = Pad;
})();
