// Checks the evidence files' sizes before a long form is sent: a file over the limits is named
// at once, instead of after the upload. An enhancement only; the server checks the same limits
// and shows the form again as typed.
(function () {
  "use strict";
  var form = document.querySelector("form[data-max-file-bytes]");
  var input = form && form.querySelector('input[type="file"][name="evidence"]');
  if (!input) {
    return;
  }
  var maxFile = Number(form.getAttribute("data-max-file-bytes"));
  var maxTotal = Number(form.getAttribute("data-max-total-bytes"));
  var note = document.createElement("p");
  note.className = "error";
  note.id = "size-check-evidence";
  note.setAttribute("aria-live", "polite");
  input.insertAdjacentElement("afterend", note);

  function problems() {
    var found = [];
    var total = 0;
    Array.prototype.forEach.call(input.files || [], function (file) {
      total += file.size;
      if (file.size > maxFile) {
        found.push(form.getAttribute("data-msg-file").replace("{name}", file.name));
      }
    });
    if (total > maxTotal) {
      found.push(form.getAttribute("data-msg-total"));
    }
    return found.join(" ");
  }

  function check() {
    var message = problems();
    note.textContent = message;
    input.setCustomValidity(message);
    if (message) {
      input.setAttribute("aria-invalid", "true");
    }
    return !message;
  }

  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (!check()) {
      event.preventDefault();
      input.focus();
    }
  });
})();
