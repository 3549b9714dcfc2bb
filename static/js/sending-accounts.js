// The account form shows only the fields of the chosen kind (SMTP, OAuth2, e-mail service).
// Without JavaScript every field stays visible and the server still validates by kind.
(function () {
  "use strict";
  function update(form) {
    var select = form.querySelector("select[name=kind]");
    if (!select) return;
    form.querySelectorAll("[data-kinds]").forEach(function (part) {
      var kinds = part.getAttribute("data-kinds").split(" ");
      part.hidden = kinds.indexOf(select.value) === -1;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-account-form]").forEach(function (form) {
      update(form);
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === "kind") update(form);
      });
    });
  });
})();
