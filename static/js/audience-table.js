/*
 * The recipients table: a header checkbox [data-select-all] ticks or clears every row's
 * checkbox (name="ids") on the page. Without JavaScript rows are still ticked one by one.
 */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var all = document.querySelector("[data-select-all]");
    if (!all) {
      return;
    }
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
})();
