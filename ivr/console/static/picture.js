// Draws the flow's picture from its Mermaid text, with the Mermaid copy shipped in this folder.
(function () {
  "use strict";
  var target = document.getElementById("picture");
  if (!target || !window.mermaid) { return; }
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
  window.mermaid.run({ nodes: [target] }).then(function () {
    target.setAttribute("data-drawn", "yes");
    var svg = target.querySelector("svg");
    if (svg) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", "A picture of the flow's states; the traffic table below gives the same counts");
    }
  }).catch(function (error) {
    target.setAttribute("data-drawn", "failed");
    var note = document.createElement("p");
    note.className = "error";
    note.textContent = "The picture could not be drawn: " + error;
    target.after(note);
  });
})();
