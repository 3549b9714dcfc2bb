// The campaign calendar: drag a scheduled campaign onto another day to move it.
// It posts the same form as the "Move" link (date + the campaign's time) with the CSRF token
// and asks for JSON; on success the calendar part is re-rendered by htmx ("calendar-changed"
// on #calendar), on a refusal the server's message is shown. Without JavaScript, the links do
// it all. Listeners sit on the document, so they keep working after htmx swaps the calendar.
(function () {
  "use strict";
  var dragged = null;

  function csrfToken() {
    var meta = document.head.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function say(text, isError) {
    var status = document.getElementById("calendar-status");
    if (!status) return;
    status.textContent = text; // text only: the server's message is never read as markup
    status.className = "mb-3 text-sm " + (isError ? "text-red-700 dark:text-red-400" : "");
    if (isError) status.setAttribute("data-error", ""); else status.removeAttribute("data-error");
  }

  function dayCell(target) {
    return target && target.closest ? target.closest("#calendar td[data-day]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest("#calendar [data-move-url]");
    if (!block) return;
    dragged = block;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.getAttribute("data-campaign"));
  });

  document.addEventListener("dragend", function () {
    dragged = null;
  });

  document.addEventListener("dragover", function (event) {
    if (dragged && dayCell(event.target)) {
      event.preventDefault(); // allows the drop here
      event.dataTransfer.dropEffect = "move";
    }
  });

  document.addEventListener("drop", function (event) {
    var cell = dayCell(event.target);
    if (!dragged || !cell) return;
    event.preventDefault();
    var block = dragged;
    dragged = null;
    if (block.closest("td[data-day]") === cell) return;
    var body = new URLSearchParams();
    body.set("date", cell.getAttribute("data-day"));
    body.set("time", block.getAttribute("data-time"));
    fetch(block.getAttribute("data-move-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body,
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          return { ok: response.ok, answer: answer };
        });
      })
      .then(function (result) {
        if (result.ok) {
          say(document.getElementById("calendar").getAttribute("data-moved") || "", false);
          window.htmx.trigger(document.getElementById("calendar"), "calendar-changed");
        } else {
          say(result.answer.error || "", true);
        }
      })
      .catch(function () {
        say(document.getElementById("calendar").getAttribute("data-failed") || "", true);
      });
  });
})();
