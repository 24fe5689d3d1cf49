// Filters the integrations table as the user types (the search form works without this script too).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("input[data-filter]");
  if (!input) return;
  const table = document.getElementById(input.dataset.filter);
  const count = document.getElementById("viewer-count");
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  const total = count ? count.textContent.replace(/^\d+/, "") : "";
  const filter = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const match = words.every((w) => row.dataset.search.includes(w));
      row.hidden = !match;
      if (match) shown += 1;
    }
    if (count) count.textContent = `${shown}${total}`;
  };
  input.addEventListener("input", filter);
  filter();
});
