// The verification form (api/web/templates/web/_verification.html): the note and the questioned fields
// only when the file goes back, the override reason only when it is accepted although something
// disagrees (then required). Without this script every part shows and the server checks the same.
(function () {
  var form = document.getElementById("verification-form");
  if (!form) return;
  function apply() {
    var chosen = form.querySelector("input[name=decision]:checked");
    var decision = chosen ? chosen.value : "";
    form.querySelectorAll("[data-when]").forEach(function (part) {
      var shown = part.dataset.when === decision;
      part.hidden = !shown;
      part.querySelectorAll("textarea[name=override_reason]").forEach(function (reason) {
        reason.required = shown;
      });
    });
  }
  form.addEventListener("change", apply);
  apply();
})();
