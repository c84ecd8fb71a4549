// Live deadline countdowns ("sisa 45 menit" / "lewat 10 menit"), refreshed every 30 seconds.
(function () {
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60), parts = [];
    if (d) parts.push(d + " hari");
    if (h) parts.push(h + " jam");
    if (m && !d) parts.push(m + " menit");
    return parts.join(" ") || "kurang dari 1 menit";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = left >= 0 ? "sisa " + span(left) : "lewat " + span(left);
      el.classList.toggle("late", left < 0);
    });
  }
  tick();
  setInterval(tick, 30000);
})();
