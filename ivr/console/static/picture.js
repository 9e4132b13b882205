// Draws the flow's picture from its Mermaid text, with the Mermaid copy shipped in this folder.
// Mermaid's ES module build fetches only the parts a flowchart needs: the browser has a third
// less work than with the single-file build, which brings every kind of diagram.
import mermaid from "./mermaid/mermaid.esm.min.mjs";

const target = document.getElementById("picture");
if (target) {
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
  mermaid.run({ nodes: [target] }).then(function () {
    target.setAttribute("data-drawn", "yes");
    const svg = target.querySelector("svg");
    if (svg) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", "A picture of the flow's states; the traffic table below gives the same counts");
    }
  }).catch(function (error) {
    target.setAttribute("data-drawn", "failed");
    const note = document.createElement("p");
    note.className = "error";
    note.textContent = "The picture could not be drawn: " + error;
    target.after(note);
  });
}
