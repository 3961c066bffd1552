/* waitroom loader: the file the integrator's <script> tag points at.
 *
 * A classic script (no bundler, no module tag needed): it finds its own tag, loads the
 * wasm-bindgen glue and the .wasm from `pkg/` next to itself, and hands the tag to the Rust
 * driver, which reads the data-* attributes. Anything that goes wrong here leaves the page
 * exactly as if the script were absent (fail-open): one console error, nothing else.
 * No eval, no inline styles: it runs under `script-src 'self' 'wasm-unsafe-eval'`.
 */
(function () {
  "use strict";
  // Only valid while this script runs for the first time: capture it before anything async.
  var script = document.currentScript;

  function fail(why) {
    console.error("waitroom: " + why + "; the login form stays usable");
    if (script) {
      script.dispatchEvent(new CustomEvent("waitroom:error", {
        bubbles: true, composed: true, detail: { reason: "load" }
      }));
    }
  }

  if (!script || !script.src) {
    fail("cannot find its own <script src> tag (was it loaded as a module or injected inline?)");
    return;
  }
  if (typeof WebAssembly !== "object") {
    fail("this browser has no WebAssembly");
    return;
  }
  var pkg = new URL("pkg/", script.src);
  // A browser without import() fails to parse this file at all, which is fail-open too.
  import(new URL("waitroom.js", pkg).href)
    .then(function (glue) {
      return glue.default({ module_or_path: new URL("waitroom_bg.wasm", pkg) }).then(function () {
        glue.start(script);
      });
    })
    .catch(function (e) {
      // Typical causes: pkg/ not deployed (404), a CSP without 'wasm-unsafe-eval'.
      fail("could not start (" + (e && e.message ? e.message : e) + ")");
    });
})();
