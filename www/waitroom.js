/* waitroom loader (README: Embedding). Fails open: on any error, one console line and the page as without it. */
(function () {
  "use strict";
  var script = document.currentScript; // only set during this first, synchronous run
  var failed;

  function fail(why, reason) {
    if (failed) return;
    failed = 1;
    console.error("waitroom: " + why + "; the login form stays usable");
    if (script) script.dispatchEvent(new CustomEvent("waitroom:error", { bubbles: true, composed: true, detail: { reason: reason || "load" } }));
  }

  if (!script || !script.src) return fail("cannot find its own <script src> tag (loaded as a module or inline?)");
  if (typeof WebAssembly != "object") return fail("this browser has no WebAssembly");
  var pkg = new URL("pkg/", script.src);

  // A crash in the widget: step aside as if it had never loaded (docs/size.md, "The loader's comments").
  function crashed(e) {
    var error = e.error || e.reason;
    if (!error || !(error instanceof WebAssembly.RuntimeError || String(error.stack).indexOf(pkg.href) >= 0)) return;
    e.preventDefault();
    if (!failed) stepAside(), fail("stopped on an internal error (" + error + ")", "crash");
  }
  function stepAside() {
    script.setAttribute("data-waitroom-crashed", "");
    document.querySelectorAll("waitroom-overlay").forEach(function (o) { o.remove(); });
    document.querySelectorAll("[data-waitroom-inert]").forEach(function (el) { el.inert = false; el.removeAttribute("data-waitroom-inert"); });
    document.querySelectorAll("[data-waitroom-disabled]").forEach(function (el) { el.removeAttribute("aria-disabled"); el.removeAttribute("data-waitroom-disabled"); el.style.opacity = ""; });
    document.querySelectorAll("[data-waitroom-reason]").forEach(function (el) { el.remove(); });
  }
  addEventListener("error", crashed);
  addEventListener("unhandledrejection", crashed);

  // Proof of work (docs/protocol.md): the n <= max with SHA-256(c + n) = t, else -1.
  var subtle = window.crypto && crypto.subtle;
  function solve(c, t, max) {
    var e = new TextEncoder(), n = 0;
    function batch() {
      for (var from = n, all = []; n <= max && n - from < 512; n++) all.push(subtle.digest("SHA-256", e.encode(c + n)));
      return Promise.all(all).then(function (d) {
        for (var k = 0; k < d.length; k++) {
          if (new Uint8Array(d[k]).every(function (x, i) { return x == parseInt(t.substr(2 * i, 2), 16); })) return from + k;
        }
        return n > max ? -1 : batch();
      });
    }
    return batch().catch(function () { return -1; });
  }

  // The .wasm fetched beside the glue: one round trip less.
  var wasm = fetch(new URL("waitroom_bg.wasm", pkg));
  wasm.catch(function () {}); // reported through the glue's init below
  import(new URL("waitroom.js", pkg).href)
    .then(function (glue) {
      return glue.default({ module_or_path: wasm }).then(function () { glue.start(script, subtle ? solve : undefined); });
    })
    .catch(function (e) {
      stepAside();
      fail("could not start (" + (e && e.message ? e.message : e) + ")");
    });
})();
