// icdcoder workbench: small enhancements only; every action works without this file.
// Code search as you type: an <input data-code-search> gets a list of codes from /api/codes.
(function () {
  "use strict";
  function attach(input) {
    var box = document.createElement("ul");
    box.hidden = true;
    input.parentNode.classList.add("suggest");
    input.parentNode.appendChild(box);
    var timer = null;
    // <input data-code-list> takes several codes ("I25.103,I20.000"): the search is for the code
    // being typed (after the last separator), and a choice replaces that one only.
    var many = input.hasAttribute("data-code-list");
    var SEP = /[,，、;；\s]+/;
    function head() {
      if (!many) { return ""; }
      var m = input.value.match(/^(.*[,，、;；\s])/);
      return m ? m[1] : "";
    }
    function choose(code) { input.value = head() + code; box.hidden = true; input.focus(); }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = (many ? input.value.split(SEP).pop() : input.value).trim();
      if (!q) { box.hidden = true; return; }
      timer = setTimeout(function () {
        var url = "/api/codes?q=" + encodeURIComponent(q);
        if (input.dataset.system) { url += "&system=" + encodeURIComponent(input.dataset.system); }
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (codes) {
          box.innerHTML = "";
          codes.forEach(function (c) {
            var li = document.createElement("li");
            li.textContent = c.code + "  " + c.name;
            li.dataset.code = c.code;
            li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(c.code); });
            box.appendChild(li);
          });
          box.hidden = codes.length === 0;
        });
      }, 150);
    });
    input.addEventListener("blur", function () { setTimeout(function () { box.hidden = true; }, 150); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-code-search]").forEach(attach);
    // Keyboard: on a line's page, "c" confirms, "n" goes to the next line of the worklist.
    document.addEventListener("keydown", function (e) {
      if (e.target.matches("input, textarea, select")) { return; }
      var el = document.querySelector("[data-key='" + e.key + "']");
      if (el) { e.preventDefault(); el.click(); }
    });
  });
})();
