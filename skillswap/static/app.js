// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  // Time zone: filled into the signup form, and remembered in a cookie so logged-out pages
  // can show times in the visitor's zone.
  function detectZone() {
    var zone = browserZone();
    if (!zone) { return; }
    document.querySelectorAll("input[data-detect-timezone]").forEach(function (input) {
      if (!input.value || input.value === "UTC") { input.value = zone; }
    });
    var cookie = "tz=" + encodeURIComponent(zone);
    if (document.cookie.split("; ").indexOf(cookie) === -1) {
      document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
    }
  }

  // "+" buttons: copy the last row, renumber its fields (ranges-1-start -> ranges-2-start),
  // clear it, and focus its first input. Without JS the same button asks the server for a row.
  function renumber(element, oldIndex, newIndex) {
    ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
      var value = element.getAttribute(attr);
      if (value) {
        element.setAttribute(attr, value.replace(new RegExp("-" + oldIndex + "(?=-|$)"), "-" + newIndex));
      }
    });
  }

  function addRow(button) {
    var list = document.querySelector('[data-rows="' + button.dataset.addRow + '"]');
    if (!list) { return false; }
    var rows = list.querySelectorAll("[data-row]");
    var last = rows[rows.length - 1];
    var oldIndex = rows.length - 1;
    var row = last.cloneNode(true);
    row.querySelectorAll(".error").forEach(function (e) { e.remove(); });
    row.querySelectorAll(".has-error").forEach(function (e) { e.classList.remove("has-error"); });
    row.querySelectorAll("input, label, p").forEach(function (el) {
      renumber(el, oldIndex, rows.length);
      if (el.tagName === "INPUT") {
        el.value = "";
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      }
    });
    row.querySelectorAll("label").forEach(function (label) {  // "Date 3" -> "Date 4"
      label.textContent = label.textContent.replace(/\d+$/, String(rows.length + 1));
    });
    if (row.getAttribute("aria-label")) {
      row.setAttribute("aria-label", row.getAttribute("aria-label").replace(/\d+$/, String(rows.length + 1)));
    }
    list.appendChild(row);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
    return true;
  }

  // Presets: the first/last date fields matter only when a preset is chosen.
  function syncPreset(form) {
    var chosen = form.querySelector("input[name=preset]:checked");
    var range = form.querySelector(".preset-range");
    if (!range) { return; }
    range.hidden = !chosen || chosen.value === "";
    // Hidden, they are not sent: dates typed before going back to "only the dates I list"
    // would be refused by the server, on fields the person cannot see.
    range.querySelectorAll("input").forEach(function (input) { input.disabled = range.hidden; });
  }

  // A redirect to a part of a page (/account#mail, /dashboard#booking-...) lands below the
  // messages at the top, out of sight on a phone: they move into that part, under its
  // heading, where the person is looking. Without JS they stay at the top.
  function showMessagesThere() {
    var messages = document.querySelector(".flashes");
    var target = null;
    try {
      target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    } catch (e) { return; }  // a malformed fragment ("%E0")
    if (!messages || !target || target.contains(messages)) { return; }
    var heading = target.querySelector("h1, h2, h3");
    if (heading && heading.parentNode === target) { heading.after(messages); } else { target.prepend(messages); }
    target.scrollIntoView();
  }

  // Mail and calendar events sent before the dashboard had tabs link a session as
  // /dashboard#booking-<id>. When the upcoming tab does not list it, its lasting address
  // (/dashboard/session/<id>) finds the tab that does; that address only sends back here a
  // session this tab lists, so this never loops.
  function followOldSessionLink() {
    var match = /^#booking-([0-9a-f]{16})$/.exec(location.hash);
    if (!match || !/\/dashboard$/.test(location.pathname)) { return false; }
    if (document.getElementById(match[0].slice(1))) { return false; }
    location.replace(location.pathname + "/session/" + match[1]);
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (followOldSessionLink()) { return; }
    detectZone();
    showMessagesThere();
    // A form sent back with problems: its summary takes the focus, so a screen reader reads
    // it and the next Tab goes through its links to the fields.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (addRow(button)) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("input[name=preset]")) { return; }
      syncPreset(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "preset") { syncPreset(form); }
      });
    });
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirm)) { event.preventDefault(); return; }
        // Asked here: the server need not ask again (common.ask_first).
        var confirmed = button.form && button.form.querySelector("input[name=confirmed]");
        if (confirmed) { confirmed.value = "yes"; }
      });
    });
  });
})();
