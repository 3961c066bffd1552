/* waitroom loader (README: Embedding). Fails open: on any error, one console line and the page as without it. */
(function () {
  "use strict";
  var script = document.currentScript; // only set during this first, synchronous run

  function fail(why) {
    console.error("waitroom: " + why + "; the login form stays usable");
    if (script) script.dispatchEvent(new CustomEvent("waitroom:error", { bubbles: true, composed: true, detail: { reason: "load" } }));
  }

  if (!script || !script.src) return fail("cannot find its own <script src> tag (loaded as a module or inline?)");
  if (typeof WebAssembly != "object") return fail("this browser has no WebAssembly");
  var pkg = new URL("pkg/", script.src);
  import(new URL("waitroom.js", pkg).href)
    .then(function (glue) {
      return glue.default({ module_or_path: new URL("waitroom_bg.wasm", pkg) }).then(function () { glue.start(script); });
    })
    .catch(function (e) {
      // Typically pkg/ not deployed (404), or a CSP without 'wasm-unsafe-eval'.
      fail("could not start (" + (e && e.message ? e.message : e) + ")");
    });
})();
