/*
 * Drag and drop for the CSV import: dropping a file on [data-dropzone] puts it in the zone's
 * file input, so the plain form (which works without JavaScript) submits it as usual.
 */
(function () {
  "use strict";

  function wire(zone) {
    var input = zone.querySelector('input[type="file"]');
    if (!input) {
      return;
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.setAttribute("data-over", "");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.removeAttribute("data-over");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-dropzone]").forEach(wire);
  });
})();
