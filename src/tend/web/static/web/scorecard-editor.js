// The scorecard editor: show only the fields of the chosen normalisation and missing-data
// policy. Without JavaScript every field shows, each labelled, and saving re-renders the form.
(function () {
  function sync(form) {
    form.querySelectorAll("[data-kind-select]").forEach(function (select) {
      var measure = select.closest(".measure");
      measure.querySelectorAll("[data-kind]").forEach(function (box) {
        box.hidden = box.getAttribute("data-kind") !== select.value;
      });
    });
    form.querySelectorAll("[data-missing-select]").forEach(function (select) {
      var box = select.closest(".measure").querySelector("[data-missing-value]");
      if (box) box.hidden = select.value !== "value";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("scorecard-form");
    if (!form) return;
    sync(form);
    form.addEventListener("change", function () { sync(form); });
  });
})();
