/*
 * Page behaviour, loaded with `defer` after htmx. No inline scripts anywhere: everything is
 * wired here through data attributes, so a strict Content-Security-Policy can forbid them.
 *
 *   [data-nav-toggle]   shows/hides #sidebar on small screens (sets data-open on it)
 *   [data-dismiss]      removes the enclosing [data-dismissible] or .alert
 *   .table-wrap, pre    reachable by keyboard (tabindex=0) while their content overflows
 *   htmx requests       only from our own elements (data-postroom-htmx), with the CSRF token
 */
(function () {
  "use strict";

  // --- htmx: our elements only -------------------------------------------------------------
  // htmx acts on any hx-* attribute in the page, and a strict CSP does not stop it, so markup
  // planted in user data could send requests as the visitor. A request goes out only from an
  // element our templates marked with the page's key (postroom/htmx.py), outside any
  // hx-disable region (where user data is shown); only those carry the CSRF token.
  function headMeta(name) {
    var meta = document.head && document.head.querySelector('meta[name="' + name + '"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function isOurs(element) {
    var key = headMeta("htmx-key");
    return !!(
      key &&
      element &&
      element.getAttribute &&
      element.getAttribute("data-postroom-htmx") === key &&
      !element.closest("[hx-disable], [data-hx-disable]")
    );
  }

  function refuseForeign(event) {
    if (!isOurs(event.detail && event.detail.elt)) {
      event.preventDefault();
      if (window.console) {
        window.console.warn("htmx request refused: the element is not one of the page's own");
      }
      return true;
    }
    return false;
  }

  // htmx:confirm comes before hx-prompt/hx-confirm dialogs, htmx:configRequest before sending.
  document.addEventListener("htmx:confirm", refuseForeign);
  document.addEventListener("htmx:configRequest", function (event) {
    if (refuseForeign(event)) {
      return;
    }
    var token = headMeta("csrf-token");
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

  // --- scrolling regions: a keyboard user scrolls them with the arrow keys once focused ----
  // Only while they overflow: a wide table on a phone, a long message source. Elsewhere they
  // would be tab stops that do nothing.
  var SCROLLABLE = ".table-wrap, pre";

  function focusableWhenScrolling(root) {
    var regions = root.querySelectorAll ? root.querySelectorAll(SCROLLABLE) : [];
    for (var i = 0; i < regions.length; i++) {
      var region = regions[i];
      var overflows =
        region.scrollWidth > region.clientWidth || region.scrollHeight > region.clientHeight;
      if (overflows && !region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "0");
        region.setAttribute("data-scroll-focus", "");
      } else if (!overflows && region.hasAttribute("data-scroll-focus")) {
        region.removeAttribute("tabindex");
        region.removeAttribute("data-scroll-focus");
      }
    }
  }

  function focusableAll() {
    focusableWhenScrolling(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusableAll);
  } else {
    focusableAll();
  }
  window.addEventListener("resize", focusableAll);
  document.addEventListener("htmx:load", function (event) {
    focusableWhenScrolling(event.target.parentNode || document);
  });
})();
