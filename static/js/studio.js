// Task Studio client glue (kept tiny: htmx does the work).
// 1. Seq protocol for live streams (see studio/lib/streams.py): drop a frame whose data-seq is
//    already shown; on (re)connect ask only for rows after the latest seq on the page.
// 2. Elapsed-time counters. 3. Keyboard shortcuts ([data-shortcut] elements, "?" lists them).
(function () {
  "use strict";

  function maxSeq(root) {
    var max = 0;
    (root || document).querySelectorAll("[data-seq]").forEach(function (el) {
      var n = parseInt(el.getAttribute("data-seq"), 10);
      if (n > max) max = n;
    });
    return max;
  }

  function streamFor(url) {
    var path;
    try { path = new URL(url, location.href).pathname; } catch (e) { return null; }
    var found = null;
    document.querySelectorAll("[ws-connect]").forEach(function (el) {
      var p = new URL(el.getAttribute("ws-connect"), location.href).pathname;
      if (p === path) found = el;
    });
    return found;
  }

  function frameSeq(html) {
    var m = /data-seq="(\d+)"/.exec(html);
    return m ? parseInt(m[1], 10) : null;
  }

  function install() {
    if (!window.htmx) return;
    var original = htmx.createWebSocket;
    htmx.createWebSocket = function (url) {
      var el = streamFor(url);
      if (el) {
        var u = new URL(url, location.href);
        u.searchParams.set("after", String(Math.max(maxSeq(el), parseInt(el.dataset.lastSeq || "0", 10))));
        url = u.toString();
      }
      if (original) return original(url);
      var sock = new WebSocket(url, []);
      sock.binaryType = htmx.config.wsBinaryType;
      return sock;
    };
  }

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var seq = frameSeq(evt.detail.message || "");
    if (seq === null) return;
    var el = evt.target;
    if (seq <= maxSeq(el)) {
      evt.preventDefault();  // already shown: duplicates never reach the page
    }
  });
  document.addEventListener("htmx:wsAfterMessage", function (evt) {
    var el = evt.target;
    var pane = el.querySelector(".events, .build-log");
    if (pane && el.dataset.follow !== "0") window.scrollTo(0, document.body.scrollHeight);
    el.dataset.received = String((parseInt(el.dataset.received || "0", 10)) + 1);
  });
  document.addEventListener("htmx:wsOpen", function (evt) { setLive(evt.target, "live"); });
  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail.event && evt.detail.event.code;
    setLive(evt.target, code === 1000 ? "closed" : code === 4401 ? "log in again to follow" : "reconnecting…");
  });

  function setLive(el, text) {
    var state = el.querySelector(".live-state");
    if (state) state.textContent = text;
    el.dataset.live = text;
  }

  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll(".elapsed[data-started]").forEach(function (el) {
      var end = el.dataset.finished ? parseFloat(el.dataset.finished) : now;
      var s = Math.max(0, Math.round(end - parseFloat(el.dataset.started)));
      el.textContent = Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    });
    // An episode that ended while the page was open can no longer be cancelled.
    if (document.querySelector("#episode-status[data-active='0']")) {
      var cancel = document.getElementById("cancel-episode");
      if (cancel) cancel.closest("form").remove();
    }
  }

  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    var typing = t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT" || t.isContentEditable);
    if ((evt.ctrlKey || evt.metaKey) && (evt.key === "s" || evt.key === "Enter")) {
      var form = t && t.closest && t.closest("form[data-save-shortcut]");
      if (form) { evt.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (typing || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.key === "?") {
      var help = document.getElementById("shortcut-help");
      if (help) help.hidden = !help.hidden;
      return;
    }
    var target = document.querySelector('[data-shortcut="' + CSS.escape(evt.key) + '"]');
    if (target) {
      evt.preventDefault();
      if (target.tagName === "TEXTAREA" || target.tagName === "INPUT") target.focus(); else target.click();
    }
  });

  install();  // deferred scripts run in order: htmx is loaded, it has not connected yet
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();
