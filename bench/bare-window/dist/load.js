// Reports the load event the way Latch reports its first view, so one
// benchmark reads both: a performance mark and body[data-state].
addEventListener("load", () => {
  performance.mark("latch:loaded");
  document.body.dataset.state = "loaded";
});
