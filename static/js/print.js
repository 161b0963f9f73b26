// Print buttons: shown only when this script runs (without JavaScript, the browser's own
// print command does the same), and print the page with the print stylesheet.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
