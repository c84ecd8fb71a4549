// Select all: a header checkbox ticks every checkbox of its group (a kecamatan on the grouping page, the
// batch's cards on the arrival page); ticking them one by one keeps it in step.
(function () {
  document.querySelectorAll("input.select-all").forEach(function (all) {
    var group = all.dataset.group;
    function members() {
      return Array.prototype.filter.call(
        document.querySelectorAll('input[data-group="' + group + '"]'),
        function (box) { return box !== all; }
      );
    }
    all.addEventListener("change", function () {
      members().forEach(function (box) { box.checked = all.checked; });
    });
    members().forEach(function (box) {
      box.addEventListener("change", function () {
        all.checked = members().every(function (b) { return b.checked; });
      });
    });
  });
})();
