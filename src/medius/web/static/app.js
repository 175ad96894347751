/* medius clinic: small progressive enhancement (no framework, no network beyond this app).
 * - forms with data-validate: validate as you type (HTML constraints, messages beside the field);
 * - the upload form: client-side size check and an upload progress bar (the server checks again);
 * - elements with data-job-id: poll /api/jobs/<id> and show live progress; reload when finished;
 * - forms with data-confirm: ask first;
 * - the assessment form (data-assessment): server-side validation as you type.
 */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function fieldError(input) {
    /* the message goes beside the field: in its label, else in its table cell or wrapper */
    var label = input.closest("label");
    var el = label ? label.querySelector(".field-error") : null;
    if (!el && input.parentElement) el = input.parentElement.querySelector(".field-error");
    return el;
  }
  function showValidity(input) {
    var el = fieldError(input);
    if (!el) return;
    el.textContent = input.validity.valid ? "" : input.validationMessage;
    input.classList.toggle("invalid", !input.validity.valid);
  }
  function today() { return new Date().toISOString().slice(0, 10); }

  document.querySelectorAll("input[data-default-today]").forEach(function (i) { if (!i.value) i.value = today(); });
  document.querySelectorAll("input[data-max-today]").forEach(function (i) { i.max = today(); });

  document.querySelectorAll("form[data-validate]").forEach(function (form) {
    form.addEventListener("input", function (ev) { if (ev.target.name) showValidity(ev.target); });
    form.addEventListener("submit", function (ev) {
      var ok = true;
      form.querySelectorAll("input, select, textarea").forEach(function (i) { showValidity(i); ok = ok && i.validity.valid; });
      if (!ok) ev.preventDefault();
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) { if (!window.confirm(form.dataset.confirm)) ev.preventDefault(); });
  });

  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var file = form.querySelector('input[type="file"]');
    var bar = form.querySelector(".upload-progress");
    file.addEventListener("change", function () {
      var max = parseInt(file.dataset.maxBytes || "0", 10);
      var f = file.files[0];
      file.setCustomValidity(f && max && f.size > max ? "The file is larger than the upload limit." : "");
      showValidity(file);
    });
    form.addEventListener("submit", function (ev) {
      if (!window.XMLHttpRequest || !window.FormData) return;  // plain form post
      ev.preventDefault();
      if (!form.checkValidity()) { form.querySelectorAll("input").forEach(showValidity); return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      bar.hidden = false;
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {detail: xhr.statusText}; }
        if (xhr.status === 201 && data.url) { window.location.href = data.url; return; }
        bar.hidden = true;
        var err = fieldError(file);
        if (err) err.textContent = typeof data.detail === "string" ? data.detail : "Upload refused (" + xhr.status + ").";
      };
      xhr.onerror = function () { bar.hidden = true; var err = fieldError(file); if (err) err.textContent = "Upload failed: the connection broke."; };
      xhr.send(new FormData(form));
    });
  });

  function poll(el) {
    var id = el.dataset.jobId;
    fetch("/api/jobs/" + encodeURIComponent(id), {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) return;
        var status = el.querySelector(".job-status") || el;
        status.textContent = job.status;
        var stage = el.querySelector(".job-stage");
        if (stage) stage.textContent = job.stage + (job.progress_total ? " " + job.progress_done + "/" + job.progress_total : "");
        var bar = el.querySelector(".job-bar");
        if (bar && job.progress_total) { bar.max = job.progress_total; bar.value = job.progress_done; }
        if (["done", "not_judgeable", "failed"].indexOf(job.status) >= 0) {
          el.className = el.className.replace(/\b(queued|running)\b/g, "") + " " + job.status;
          if (el.hasAttribute("data-reload-when-done")) window.location.reload();
          return;
        }
        setTimeout(function () { poll(el); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(el); }, 3000); });
  }
  document.querySelectorAll("[data-job-id]").forEach(poll);

  /* assessment form: ask the server (the library's Assessment model) as you type */
  document.querySelectorAll("form[data-assessment]").forEach(function (form) {
    var timer = null;
    var box = document.getElementById("assessment-errors");
    function check() {
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.assessment, {method: "POST", body: body, credentials: "same-origin",
        headers: {"X-CSRF-Token": csrf, Accept: "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (res) {
          form.querySelectorAll(".field-error").forEach(function (e) { e.textContent = ""; });
          form.querySelectorAll(".invalid").forEach(function (e) { e.classList.remove("invalid"); });
          var left = [];
          (res.errors || []).forEach(function (e) {
            var input = form.querySelector('[name="' + CSS.escape(e.field) + '"]');
            if (input && fieldError(input)) { fieldError(input).textContent = e.message; input.classList.add("invalid"); }
            else left.push(e.field + ": " + e.message);
          });
          if (box) box.textContent = left.join("; ");
        });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 400); });
  });
})();
