/*
 * Placeholder suggestions in the template editor (content/template_form.html).
 *
 * Fields marked [data-placeholders] offer the workspace's placeholder names (read from the
 * JSON in #placeholder-names) while the user types after "{" or "{if ": arrows move, Enter or Tab
 * inserts "name}", Escape closes. The list is a plain <ul role="listbox"> under the field.
 */
(function () {
  "use strict";

  var source = document.getElementById("placeholder-names");
  if (!source) {
    return;
  }
  var names = JSON.parse(source.textContent || "[]");
  var open = null; // {field, list, items, active, start}

  function partial(field) {
    var before = field.value.slice(0, field.selectionStart);
    // After "{" or "{if " / "{if not ": the name being typed, if any.
    var match = /\{(?:if\s+(?:not\s+)?)?([A-Za-z_][A-Za-z0-9_]*)?$/.exec(before);
    if (!match || before.charAt(match.index - 1) === "{") {  // "{{" writes a literal brace
      return null;
    }
    return { text: match[1] || "", start: before.length - (match[1] || "").length };
  }

  function close() {
    if (open) {
      open.list.remove();
      open.field.removeAttribute("aria-activedescendant");
      open = null;
    }
  }

  function choose(name) {
    var field = open.field;
    var end = field.selectionStart;
    field.value = field.value.slice(0, open.start) + name + "}" + field.value.slice(end);
    var caret = open.start + name.length + 1;
    field.setSelectionRange(caret, caret);
    close();
    field.focus();
  }

  function highlight(index) {
    open.active = (index + open.items.length) % open.items.length;
    open.items.forEach(function (item, i) {
      item.setAttribute("aria-selected", i === open.active ? "true" : "false");
      item.classList.toggle("bg-indigo-600", i === open.active);
      item.classList.toggle("text-white", i === open.active);
    });
    open.field.setAttribute("aria-activedescendant", open.items[open.active].id);
  }

  function show(field, found) {
    close();
    var list = document.createElement("ul");
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Placeholders");
    list.className = "z-20 mt-1 max-h-48 overflow-y-auto rounded-md border border-gray-200 bg-white text-sm shadow-lg dark:border-gray-700 dark:bg-gray-900";
    var items = found.names.map(function (name, i) {
      var item = document.createElement("li");
      item.id = "placeholder-option-" + i;
      item.setAttribute("role", "option");
      item.className = "cursor-pointer px-3 py-1 font-mono";
      item.textContent = name;
      item.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(name);
      });
      list.appendChild(item);
      return item;
    });
    field.insertAdjacentElement("afterend", list);
    open = { field: field, list: list, items: items, active: 0, start: found.start };
    highlight(0);
  }

  function update(event) {
    var field = event.target;
    var found = partial(field);
    if (!found) {
      close();
      return;
    }
    var matching = names.filter(function (name) {
      return name.indexOf(found.text) === 0 && name !== found.text;
    });
    if (!matching.length) {
      close();
      return;
    }
    show(field, { names: matching, start: found.start });
  }

  function keys(event) {
    if (!open || event.target !== open.field) {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(open.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(open.items[open.active].textContent);
    } else if (event.key === "Escape") {
      close();
    }
  }

  document.querySelectorAll("[data-placeholders]").forEach(function (field) {
    field.setAttribute("aria-autocomplete", "list");
    field.addEventListener("input", update);
    field.addEventListener("keydown", keys);
    field.addEventListener("blur", close);
  });
})();
