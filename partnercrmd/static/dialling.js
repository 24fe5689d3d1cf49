// Live "type a number, see what the phone system gets" preview; the form shows the same without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("preview-number");
  const output = document.getElementById("preview-result");
  if (!input || !output) return;
  let timer = 0;
  let asked = 0;
  const show = (answer) => {
    output.replaceChildren();
    if (answer.Error) {
      const span = document.createElement("span");
      span.className = "error";
      span.textContent = answer.Error;
      output.append(span);
    } else if (answer.Destination) {
      const strong = document.createElement("strong");
      strong.id = "preview-destination";
      strong.textContent = answer.Destination;
      const detail = answer.E164 ? ` (${answer.DisplayNumber}, ${answer.E164})` : " (an internal extension)";
      output.append("The phone system gets ", strong, detail);
    }
  };
  const ask = async () => {
    const number = input.value;
    const ticket = ++asked;
    const response = await fetch(`/ui/dialling/preview?number=${encodeURIComponent(number)}`, {
      credentials: "same-origin",
    });
    if (ticket !== asked || !response.ok) return;
    show(await response.json());
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, 150);
  });
});
