// The operator's console: reads /waitroom/admin/state every 2 s with the token kept in
// sessionStorage (never in the URL), draws the last 15 minutes as SVG, and sends the controls.
"use strict";
(() => {
  const KEY = "waitroom-ops-token";
  const LANG = "waitroom-ops-lang";
  const EN = {
    title: "Waiting room — console", login: "Access token", token: "Token (kept for this tab only)",
    connect: "Connect", forget: "Forget the token", now: "Right now", queue: "Queue",
    rate: "Admissions per minute", eta: "Wait of the last in line", noshow: "No-shows", state: "State",
    chart: "The last 15 minutes", "key-queue": "queue", "key-arrivals": "arrivals / min",
    "key-admissions": "admissions / min", "key-eta": "wait of the last (min)", controls: "Controls",
    "new-rate": "Admissions per minute", apply: "Apply", message: "Message shown to pupils",
    minutes: "Reopen by itself after (minutes, optional)", close: "Close", open: "Open",
  };
  const WORDS = {
    fr: { open: "ouvert", closed: "fermé", refused: "Jeton refusé.", off: "API d’administration désactivée sur cette passerelle.", failed: "Erreur : ", done: "Fait.", need: "Saisissez le jeton.", chart: (q, a, d, e) => `File ${q}, ${a} arrivées et ${d} admissions la dernière minute, attente du dernier ${e}.` },
    en: { open: "open", closed: "closed", refused: "Token refused.", off: "The admin API is off on this gate.", failed: "Error: ", done: "Done.", need: "Enter the token.", chart: (q, a, d, e) => `Queue ${q}, ${a} arrivals and ${d} admissions in the last minute, last in line waits ${e}.` },
  };
  const $ = (id) => document.getElementById(id);
  const french = new Map();
  document.querySelectorAll("[data-i18n]").forEach((el) => french.set(el, el.textContent));
  let lang = sessionStorage.getItem(LANG) === "en" ? "en" : "fr";
  const samples = []; // [time (s), queue length, eta (s)]
  let last = null;

  function applyLang() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      el.textContent = lang === "en" ? EN[el.dataset.i18n] : french.get(el);
    });
    document.title = lang === "en" ? EN.title : french.get(document.querySelector("h1"));
    const button = $("lang");
    button.textContent = lang === "en" ? "Français" : "English";
    button.lang = lang === "en" ? "fr" : "en";
    if (last) show(last);
  }

  const say = (text) => { $("status").textContent = text; };
  const token = () => sessionStorage.getItem(KEY);
  const duration = (s) => (s >= 3600 ? `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}` : s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")}` : `${s} s`);

  async function call(method, path, body) {
    if (!token()) { say(WORDS[lang].need); return null; }
    const response = await fetch(`/waitroom/admin/${path}`, {
      method,
      headers: { authorization: `Bearer ${token()}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
      credentials: "omit",
    });
    const reply = await response.json().catch(() => ({}));
    if (response.status === 401) { say(WORDS[lang].refused); return null; }
    if (response.status === 404) { say(WORDS[lang].off); return null; }
    if (!response.ok) { say(WORDS[lang].failed + (reply.message ?? response.status)); return null; }
    return reply;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function line(svg, cls, points) {
    const el = document.createElementNS(SVG, "polyline");
    el.setAttribute("class", cls);
    el.setAttribute("points", points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
    svg.append(el);
  }

  function draw(state) {
    const svg = $("chart");
    svg.replaceChildren();
    const [W, H, L, B] = [300, 120, 24, 12];
    const t1 = state.now;
    const t0 = t1 - 15 * 60;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - 4);
    const perMinute = state.minutes.flatMap((m) => [m.arrivals, m.admissions]);
    const shown = samples.filter(([t]) => t >= t0);
    const top = Math.max(1, ...perMinute, ...shown.map(([, q]) => q), ...shown.map(([, , e]) => e / 60));
    const y = (v) => H - B - (v / top) * (H - B - 6);
    const axis = document.createElementNS(SVG, "text");
    axis.setAttribute("x", "2"); axis.setAttribute("y", "10");
    axis.textContent = String(Math.round(top));
    svg.append(axis);
    const zero = document.createElementNS(SVG, "text");
    zero.setAttribute("x", "2"); zero.setAttribute("y", String(H - B));
    zero.textContent = "0";
    svg.append(zero);
    line(svg, "arrivals", state.minutes.map((m) => [x(m.start + 30), y(m.arrivals)]));
    line(svg, "admissions", state.minutes.map((m) => [x(m.start + 30), y(m.admissions)]));
    if (shown.length) {
      line(svg, "queue", shown.map(([t, q]) => [x(t), y(q)]));
      line(svg, "eta", shown.map(([t, , e]) => [x(t), y(e / 60)]));
    }
    const m = state.minutes.at(-1) ?? { arrivals: 0, admissions: 0 };
    svg.setAttribute("aria-label", WORDS[lang].chart(state.queue_length, m.arrivals, m.admissions, duration(state.last_in_line_eta_seconds)));
  }

  function show(state) {
    last = state;
    $("queue").textContent = String(state.queue_length);
    $("rate").textContent = String(Math.round(state.admit_per_minute * 1000) / 1000);
    $("eta").textContent = duration(state.last_in_line_eta_seconds);
    $("noshow").textContent = `${Math.round(state.no_show_rate * 100)} %`;
    $("gate-state").textContent = state.closed ? `${WORDS[lang].closed} — ${state.closed.message}` : WORDS[lang].open;
    $("gate-state").dataset.closed = state.closed ? "yes" : "no";
    draw(state);
  }

  async function refresh() {
    const state = await call("GET", "state");
    if (!state) return;
    samples.push([state.now, state.queue_length, state.last_in_line_eta_seconds]);
    if (samples.length > 900) samples.shift();
    show(state);
  }

  async function control(method, path, body) {
    const state = await call(method, path, body);
    if (state) { say(WORDS[lang].done); show(state); }
  }

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    refresh();
  });
  $("forget").addEventListener("click", () => { sessionStorage.removeItem(KEY); say(WORDS[lang].need); });
  $("lang").addEventListener("click", () => { lang = lang === "en" ? "fr" : "en"; sessionStorage.setItem(LANG, lang); applyLang(); });
  $("rate-form").addEventListener("submit", (e) => {
    e.preventDefault();
    control("PUT", "rate", { admit_per_minute: Number($("rate-input").value) });
  });
  $("close-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const minutes = Number($("minutes").value);
    const body = { message: $("message").value };
    if (minutes > 0 && last) body.until = last.now + Math.round(minutes * 60);
    control("POST", "close", body);
  });
  $("open").addEventListener("click", () => control("POST", "open"));

  applyLang();
  refresh();
  setInterval(refresh, 2000);
})();
