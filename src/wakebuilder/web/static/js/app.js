// WakeBuilder's page: a hash router over four views (train wizard, training/results, live
// test, model library). No framework, no build step, nothing from the network but our API.
import { api, setToken } from "./api.js";
import * as train from "./train.js";
import * as job from "./job.js";
import * as live from "./live.js";
import * as library from "./library.js";
import { showError } from "./ui.js";

const views = {
  train: { el: "view-train", mod: train, nav: "train" },
  job: { el: "view-job", mod: job, nav: "train" },
  test: { el: "view-test", mod: live, nav: "test" },
  library: { el: "view-library", mod: library, nav: "library" },
};
let active = null;

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function parse() {
  const parts = window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const name = views[parts[0]] ? parts[0] : "train";
  return { name, arg: parts[1] || null };
}

async function route() {
  const { name, arg } = parse();
  const view = views[name];
  if (active && active !== view) active.mod.hide();
  for (const v of Object.values(views)) document.getElementById(v.el).hidden = v !== view;
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === view.nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const changed = active !== view;
  active = view;
  const title = document.getElementById(view.el).querySelector("h1");
  document.title = `${title ? title.textContent : "WakeBuilder"} · WakeBuilder`;
  if (changed) document.getElementById("main").focus({ preventScroll: true });
  try {
    await view.mod.show(arg);
  } catch (err) {
    showError(document.getElementById("global-error"), err);
  }
}

async function health() {
  const el = document.getElementById("server-state");
  try {
    const info = await api.get("/health");
    el.textContent = `Server ${info.status} · v${info.version}`;
    el.classList.remove("down");
  } catch (err) {
    el.textContent = err.status === 401 ? "API token needed" : "Server unreachable";
    el.classList.add("down");
  }
}

async function main() {
  // ?token=... once stores the API token (for servers started with one).
  const params = new URLSearchParams(window.location.search);
  if (params.has("token")) {
    setToken(params.get("token"));
    params.delete("token");
    const q = params.toString();
    window.history.replaceState(null, "", `${window.location.pathname}${q ? `?${q}` : ""}${window.location.hash}`);
  }
  const ctx = { navigate, resetWizard: () => train.reset() };
  await Promise.all([train.init(ctx), job.init(ctx), live.init(ctx), library.init(ctx)]);
  window.addEventListener("hashchange", route);
  await route();
  health();
  setInterval(health, 30000);
  document.body.dataset.ready = "true";
}

main().catch((err) => showError(document.getElementById("global-error"), err, "The page failed to start"));
