/*
 * Page behaviour, loaded with `defer` after htmx. No inline scripts anywhere: everything is
 * wired here through data attributes, so a strict Content-Security-Policy can forbid them.
 *
 *   [data-nav-toggle]   shows/hides #sidebar on small screens (sets data-open on it)
 *   [data-dismiss]      removes the enclosing [data-dismissible] or .alert
 *   htmx requests       carry the CSRF token from <meta name="csrf-token">
 */
(function () {
  "use strict";

  // --- CSRF for htmx ------------------------------------------------------------------------
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // --- Mobile navigation --------------------------------------------------------------------
  function sidebar() {
    return document.getElementById("sidebar");
  }

  function setNav(open) {
    var nav = sidebar();
    if (!nav) {
      return;
    }
    if (open) {
      nav.setAttribute("data-open", "");
    } else {
      nav.removeAttribute("data-open");
    }
    var toggles = document.querySelectorAll("[data-nav-toggle]");
    for (var i = 0; i < toggles.length; i++) {
      toggles[i].setAttribute("aria-expanded", open ? "true" : "false");
    }
    document.documentElement.classList.toggle("nav-open", open);
  }

  function navIsOpen() {
    var nav = sidebar();
    return !!(nav && nav.hasAttribute("data-open"));
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) {
      return;
    }

    var navToggle = target.closest("[data-nav-toggle]");
    if (navToggle) {
      event.preventDefault();
      setNav(!navIsOpen());
      return;
    }

    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      event.preventDefault();
      var box = dismiss.closest("[data-dismissible], .alert");
      if (box) {
        box.remove();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && navIsOpen()) {
      setNav(false);
      var toggle = document.querySelector("[data-nav-toggle]");
      if (toggle) {
        toggle.focus();
      }
    }
  });

  // Widening the window past the breakpoint closes the phone menu, so it is not left open.
  var desktop = window.matchMedia ? window.matchMedia("(min-width: 48rem)") : null;
  if (desktop) {
    var onWide = function () {
      if (desktop.matches) {
        setNav(false);
      }
    };
    if (desktop.addEventListener) {
      desktop.addEventListener("change", onWide);
    } else if (desktop.addListener) {
      desktop.addListener(onWide);
    }
  }

  // htmx swaps in history navigation: close the menu when the page changes under it.
  document.addEventListener("htmx:beforeHistorySave", function () {
    setNav(false);
  });
})();
