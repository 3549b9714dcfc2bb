/*
 * Theme: loaded in <head> without `defer`, so the `dark` class is on <html> before the first
 * paint and a dark page never flashes white.
 *
 * localStorage 'theme' is 'light', 'dark' or absent; absent follows the system setting
 * (prefers-color-scheme), live.
 *
 * Controls: any element with `data-theme-toggle`.
 *   data-theme-toggle            switches between light and dark (an explicit choice)
 *   data-theme-toggle="light"    sets light;  ="dark" sets dark;  ="system" forgets the choice
 * Toggles get aria-pressed="true" while the page is dark.
 */
(function () {
  "use strict";

  var KEY = "theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (e) {
      return null; // storage disabled (privacy mode, sandboxed frame)
    }
  }

  function store(value) {
    try {
      if (value) {
        window.localStorage.setItem(KEY, value);
      } else {
        window.localStorage.removeItem(KEY);
      }
    } catch (e) {
      /* the choice then lasts for this page only */
    }
  }

  function isDark() {
    var choice = stored();
    if (choice) {
      return choice === "dark";
    }
    return !!(media && media.matches);
  }

  function apply() {
    var dark = isDark();
    root.classList.toggle("dark", dark);
    root.setAttribute("data-theme", stored() || "system");
    var toggles = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < toggles.length; i++) {
      var mode = toggles[i].getAttribute("data-theme-toggle");
      if (!mode || mode === "toggle") {
        toggles[i].setAttribute("aria-pressed", dark ? "true" : "false");
      } else {
        toggles[i].setAttribute("aria-pressed", mode === (stored() || "system") ? "true" : "false");
      }
    }
  }

  function set(mode) {
    if (mode === "light" || mode === "dark") {
      store(mode);
    } else if (mode === "system") {
      store(null);
    } else {
      store(isDark() ? "light" : "dark");
    }
    apply();
  }

  apply(); // before paint

  if (media) {
    var follow = function () {
      if (!stored()) {
        apply();
      }
    };
    if (media.addEventListener) {
      media.addEventListener("change", follow);
    } else if (media.addListener) {
      media.addListener(follow); // Safari < 14
    }
  }

  // Another tab changed the theme.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY || event.key === null) {
      apply();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    apply(); // set aria-pressed now that the toggles exist
    document.addEventListener("click", function (event) {
      var toggle = event.target.closest && event.target.closest("[data-theme-toggle]");
      if (toggle) {
        event.preventDefault();
        set(toggle.getAttribute("data-theme-toggle"));
      }
    });
  });

  window.postroomTheme = { set: set, isDark: isDark };
})();
