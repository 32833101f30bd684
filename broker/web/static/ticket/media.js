/* What the ticket page draws and plays (ticket.js uses them): the rating faces and the chime.
 * Made here, in code: no image or sound file to download, nothing from elsewhere. Plain ES2017.
 */
window.ticketMedia = (function () {
  "use strict";

  var Ctx = window.AudioContext || window.webkitAudioContext;
  var audio = null;

  // Browsers start audio only from a tap: the page calls this from its "Bật âm thanh báo" button.
  function unlock() {
    audio = audio || new Ctx();
    if (audio.resume) audio.resume();
  }

  // A soft two-note chime (ding-dong), synthesised: nothing to download.
  function chime() {
    if (!audio) return;
    var t0 = audio.currentTime + 0.05;
    [[1046.5, 0], [784, 0.42]].forEach(function (n) {
      [1, 2].forEach(function (harm) {
        var osc = audio.createOscillator(), gain = audio.createGain(), t = t0 + n[1];
        osc.type = "sine";
        osc.frequency.value = n[0] * harm;
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(harm === 1 ? 0.5 : 0.12, t + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + 1.1);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t);
        osc.stop(t + 1.2);
      });
    });
  }

  // mood: -1 the worst level … 1 the best (as on the counter pad): mouth and colour.
  function face(mood) {
    var ns = "http://www.w3.org/2000/svg";
    function node(tag, attrs) {
      var n = document.createElementNS(ns, tag);
      Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
      return n;
    }
    function mix(a, b, f) {
      return a.map(function (x, i) { return Math.round(x + (b[i] - x) * f); });
    }
    var red = [198, 40, 40], amber = [249, 168, 37], green = [46, 125, 50];
    var c = mood < 0 ? mix(amber, red, -mood) : mix(amber, green, mood);
    var svg = node("svg", {viewBox: "0 0 64 64", width: "64", height: "64", "aria-hidden": "true",
                           "class": "face"});
    svg.appendChild(node("circle", {cx: 32, cy: 32, r: 30, fill: "rgb(" + c.join(",") + ")"}));
    svg.appendChild(node("circle", {cx: 22, cy: 25, r: 4.5, fill: "#222"}));
    svg.appendChild(node("circle", {cx: 42, cy: 25, r: 4.5, fill: "#222"}));
    var y = 44 - 3 * mood;
    svg.appendChild(node("path", {d: "M18 " + y + " Q32 " + (y + 16 * mood) + " 46 " + y, fill: "none",
                                  stroke: "#222", "stroke-width": 4.5, "stroke-linecap": "round"}));
    return svg;
  }

  return {canSound: !!Ctx, unlock: unlock, chime: chime, face: face};
}());
