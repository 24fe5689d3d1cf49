// The start page's search, as you type: hides the integrations (and the empty categories) that do not match.
// Without script the same search is the page's GET form.
"use strict";
(function () {
  const form = document.getElementById("start-search");
  const input = document.getElementById("start-query");
  const count = document.getElementById("start-count");
  const none = document.getElementById("start-none");
  if (!form || !input) return;
  function filter() {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const section of document.querySelectorAll("section.category")) {
      let inSection = 0;
      for (const card of section.querySelectorAll("li.card")) {
        const text = card.dataset.search || "";
        const match = words.every((word) => text.includes(word));
        card.hidden = !match;
        if (match) inSection += 1;
      }
      section.hidden = inSection === 0;
      shown += inSection;
    }
    if (none) none.hidden = shown > 0;
    if (count) {
      count.textContent = words.length
        ? `${shown} ${shown === 1 ? "integration matches" : "integrations match"} “${input.value.trim()}”.`
        : `${shown} integrations.`;
    }
  }
  input.addEventListener("input", filter);
})();
