// The inbox page: how many files arrived since it was loaded, asked every 30 seconds (the same API as the list).
(function () {
  var note = document.getElementById("new-tasks");
  if (!note || !window.fetch) return;
  function poll() {
    fetch(note.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || !body.total) return;
        note.querySelector("span").textContent = body.total + " berkas baru masuk sejak halaman ini dibuka.";
        note.hidden = false;
      })
      .catch(function () {});
  }
  setInterval(poll, 30000);
  note.addEventListener("kia:poll", poll); // lets a test ask at once
})();
