// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  // Time zone: filled into signup/profile forms, and remembered in a cookie so logged-out
  // pages can show times in the visitor's zone.
  function detectZone() {
    var zone = browserZone();
    if (!zone) { return; }
    document.querySelectorAll("input[data-detect-timezone]").forEach(function (input) {
      if (!input.value || input.value === "UTC") { input.value = zone; }
    });
    document.querySelectorAll("select[data-detect-timezone]").forEach(function (select) {
      if (select.dataset.userChosen !== "true" && !select.value) { select.value = zone; }
    });
    if (document.cookie.indexOf("tz=") === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    detectZone();
  });
})();
