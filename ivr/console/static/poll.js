// New conversations appear without a reload: the rows are fetched again every few seconds.
(function () {
  "use strict";
  var rows = document.getElementById("rows");
  var fresh = document.getElementById("fresh");
  if (!rows || !window.fetch) { return; }
  var every = 4000;
  function keys(root) {
    return Array.prototype.map.call(root.querySelectorAll("tr[data-key]"), function (tr) {
      return tr.getAttribute("data-key");
    });
  }
  function poll() {
    if (document.hidden) { setTimeout(poll, every); return; }
    fetch(rows.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var before = keys(rows);
        var holder = document.createElement("tbody");
        holder.innerHTML = html;
        var added = keys(holder).filter(function (k) { return before.indexOf(k) < 0; });
        if (holder.innerHTML !== rows.innerHTML) { rows.innerHTML = html; }
        if (added.length) {
          fresh.textContent = added.length + " new conversation" + (added.length > 1 ? "s" : "") + " just now.";
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
