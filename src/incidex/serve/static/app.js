// incidex UI: link each fact to its evidence in the article text (and back).
// Marks carry data-ev="<incident id>|<fact> ..."; fact rows carry one such key.
(function () {
  "use strict";
  function keysOf(el) { return (el.getAttribute("data-ev") || "").split(" ").filter(Boolean); }
  function marksFor(key) {
    return Array.prototype.filter.call(document.querySelectorAll("mark.ev"), function (m) {
      return keysOf(m).indexOf(key) >= 0;
    });
  }
  function clear() {
    document.querySelectorAll(".lit").forEach(function (el) { el.classList.remove("lit"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("tr.fact.has-ev").forEach(function (row) {
      var key = row.getAttribute("data-ev");
      row.addEventListener("mouseenter", function () {
        clear();
        row.classList.add("lit");
        marksFor(key).forEach(function (m) { m.classList.add("lit"); });
      });
      row.addEventListener("mouseleave", clear);
      row.addEventListener("click", function () {
        var first = marksFor(key)[0];
        if (!first) { return; }
        var box = first.closest("details");
        if (box && !box.open) { box.open = true; }
        first.scrollIntoView({ behavior: "smooth", block: "center" });
        clear();
        row.classList.add("lit");
        marksFor(key).forEach(function (m) { m.classList.add("lit"); });
      });
    });
    document.querySelectorAll("mark.ev").forEach(function (mark) {
      mark.addEventListener("mouseenter", function () {
        keysOf(mark).forEach(function (k) {
          document.querySelectorAll('tr.fact[data-ev="' + k.replace(/"/g, '\\"') + '"]').forEach(function (r) {
            r.classList.add("lit");
          });
        });
      });
      mark.addEventListener("mouseleave", clear);
    });
    // facet date inputs: submit on Enter is native; clear empty fields so URLs stay short
    var form = document.getElementById("filters");
    if (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input").forEach(function (i) { if (!i.value) { i.disabled = true; } });
      });
    }
  });
})();
