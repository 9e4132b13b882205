// Reads the line's latest prompts aloud in the flow's language, as a caller would hear them.
(function () {
  "use strict";
  var phone = document.querySelector(".phone");
  var box = document.getElementById("speak");
  if (!phone || !box) { return; }
  if (!("speechSynthesis" in window)) {
    box.disabled = true;
    box.parentNode.appendChild(document.createTextNode(" (this browser cannot speak)"));
    return;
  }
  box.checked = localStorage.getItem("ivr-speak") !== "no";
  box.addEventListener("change", function () {
    localStorage.setItem("ivr-speak", box.checked ? "yes" : "no");
    if (!box.checked) { window.speechSynthesis.cancel(); }
  });
  if (!box.checked) { return; }
  var lang = phone.getAttribute("data-lang") || "en-US";
  phone.querySelectorAll(".turn.line.latest").forEach(function (turn) {
    var text = turn.textContent.replace(/^The line: /, "").replace(/\[[^\]]*\]/g, " ").trim();
    if (!text) { return; }
    var words = new SpeechSynthesisUtterance(text);
    words.lang = lang;
    window.speechSynthesis.speak(words);
  });
})();
