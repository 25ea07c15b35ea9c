(function () {
  var table = document.getElementById("cells-table");
  var host = document.getElementById("cell-filter");
  if (!table || !host) { return; }
  var box = document.createElement("input");
  box.type = "search";
  box.placeholder = "filter: name, label, device, state";
  var only = document.createElement("input");
  only.type = "checkbox";
  var label = document.createElement("label");
  label.appendChild(only);
  label.appendChild(document.createTextNode(" failed and lost only "));
  var count = document.createElement("span");
  count.className = "muted";
  host.appendChild(box);
  host.appendChild(document.createTextNode(" "));
  host.appendChild(label);
  host.appendChild(count);
  function apply() {
    var q = box.value.toLowerCase(), shown = 0, bodies = table.tBodies;
    for (var i = 0; i < bodies.length; i++) {
      var b = bodies[i];
      var ok = (!q || b.textContent.toLowerCase().indexOf(q) >= 0) &&
        (!only.checked || /^(failed|lost|quarantined|interrupted)$/.test(b.getAttribute("data-state")));
      b.style.display = ok ? "" : "none";
      if (ok) { shown++; }
    }
    count.textContent = shown + " of " + bodies.length + " shown";
  }
  box.addEventListener("input", apply);
  only.addEventListener("change", apply);
  apply();
})();
