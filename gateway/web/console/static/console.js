// The console's only script (the CSP allows no inline script): confirmations, keyboard
// shortcuts of the review screen, and the mapping editor's line numbers.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Review screen: a approve, r reject, c claim, n next (not while typing in a field).
document.addEventListener("keydown", (event) => {
  const keys = document.querySelector("[data-shortcuts]");
  if (!keys || event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement) {
    return;
  }
  const button = keys.querySelector(`[data-key="${event.key.toLowerCase()}"]`);
  if (button) {
    event.preventDefault();
    button.click();
  }
});

function numberLines(editor) {
  const text = editor.querySelector("textarea");
  const gutter = editor.querySelector(".gutter");
  const render = () => {
    const count = text.value.split("\n").length;
    let lines = "";
    for (let i = 1; i <= count; i += 1) {
      lines += i + "\n";
    }
    gutter.textContent = lines;
    gutter.scrollTop = text.scrollTop;
  };
  text.addEventListener("input", render);
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  render();
}

function placeCaret(link) {
  const editor = document.getElementById(link.getAttribute("data-editor"));
  if (!editor) {
    return;
  }
  const line = Number(link.getAttribute("data-line")) || 1;
  const column = Number(link.getAttribute("data-column")) || 1;
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i += 1) {
    offset += lines[i].length + 1;
  }
  offset += column - 1;
  editor.focus();
  editor.setSelectionRange(offset, offset);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-line]");
  if (link) {
    event.preventDefault();
    placeCaret(link);
  }
});

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".editor").forEach(numberLines);
});
