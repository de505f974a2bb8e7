// Progressive enhancement only: every page works without this file.
// "/" focuses the search box, as on many search sites.
document.addEventListener("keydown", function (event) {
  var box = document.getElementById("q");
  if (event.key !== "/" || !box || event.ctrlKey || event.metaKey || event.altKey) return;
  var t = event.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  event.preventDefault();
  box.focus();
  box.select();
});
