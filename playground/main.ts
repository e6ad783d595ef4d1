/**
 * The homework page: an editor, and the compiler's answers in panels (the worked derivation,
 * the graph, the values at a point, the generated TypeScript, the gradient flow), updated as
 * the student types. The compiler runs in a worker (worker.ts), so typing never waits for it.
 */
import "katex/dist/katex.min.css";
import "./style.css";
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { linter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { gradHighlight, gradLanguage } from "./grad-language.js";
import { examples } from "./examples.js";
import { readHash, writeHash } from "./share.js";
import type { Leaf, Problem, Request, Response } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const DEBOUNCE_MS = 250;

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
let latest = 0;
let last: Extract<Response, { ok: true }> | undefined;
const opened = performance.now();
let firstShown = false;

const shared = readHash(location.hash);
const initial = shared.source ?? examples[0].source;
let at = shared.at ?? "";

const view = new EditorView({
  doc: initial,
  parent: $("editor"),
  extensions: [
    basicSetup,
    keymap.of([indentWithTab]),
    gradLanguage,
    gradHighlight,
    // diagnostics come from the worker, not from a lint source
    linter(null),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) schedule();
    }),
    EditorView.contentAttributes.of({ "aria-label": "model source (.grad)" }),
  ],
});

let timer: ReturnType<typeof setTimeout> | undefined;
function schedule(): void {
  clearTimeout(timer);
  timer = setTimeout(run, DEBOUNCE_MS);
}

function run(): void {
  showExample();
  const req: Request = { id: ++latest, source: view.state.doc.toString(), at };
  $("status").textContent = "compiling…";
  history.replaceState(null, "", writeHash({ source: req.source, at }));
  worker.postMessage(req);
}

worker.onmessage = (e: MessageEvent<Response>) => {
  const r = e.data;
  if (r.id !== latest) return; // an answer to text the student has since changed
  if (r.ok) show(r);
  else fail(r.problems, r.error);
};

function show(r: Extract<Response, { ok: true }>): void {
  last = r;
  view.dispatch(setDiagnostics(view.state, []));
  $("problems").replaceChildren();
  $("derivation").innerHTML = r.derivation;
  $("graph").innerHTML = r.graph ?? "<p>The graph is too large to draw; the derivation lists its units.</p>";
  $("code").textContent = r.typescript;
  $("flow").innerHTML = r.flow ?? "<p>The model has no layers (indexed names h{k}, w{k}) to follow.</p>";
  showLeaves(r.leaves);
  $("status").textContent = `compiled in ${r.ms.toFixed(0)} ms`;
  document.body.dataset.state = "ok";
  if (!firstShown) {
    firstShown = true;
    document.body.dataset.firstDerivationMs = String(Math.round(performance.now() - opened));
  }
}

function fail(problems: readonly Problem[], error?: string): void {
  const diagnostics: Diagnostic[] = problems.map((p) => ({
    from: Math.min(p.from, view.state.doc.length),
    to: Math.min(Math.max(p.to, p.from), view.state.doc.length),
    severity: p.severity === "warning" ? "warning" : "error",
    source: p.code,
    message: `${p.code}: ${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`,
  }));
  view.dispatch(setDiagnostics(view.state, diagnostics));
  const list = problems.map((p) => {
    const li = document.createElement("li");
    li.dataset.code = p.code;
    li.textContent = `${p.line}:${p.col} ${p.code} ${p.message}${p.hint ? ` (hint: ${p.hint})` : ""}`;
    return li;
  });
  if (error) {
    const li = document.createElement("li");
    li.textContent = error;
    list.push(li);
  }
  $("problems").replaceChildren(...list);
  $("status").textContent = problems.length ? `${problems.length} problem${problems.length > 1 ? "s" : ""}` : "error";
  document.body.dataset.state = "error";
}

/** the point as editable fields, one per param and input (their values start random) */
function showLeaves(leaves: readonly Leaf[]): void {
  const form = $("point");
  const fields = leaves.map((l) => {
    const label = document.createElement("label");
    label.textContent = `${l.name} `;
    label.title = l.role;
    const input = document.createElement("input");
    input.name = l.name;
    input.value = l.value;
    input.size = Math.min(40, Math.max(6, l.value.length));
    input.addEventListener("change", () => {
      const spec = [...form.querySelectorAll("input")].map((i) => `${i.name}=${i.value.trim()}`).join(",");
      at = spec;
      run();
    });
    label.append(input);
    return label;
  });
  form.replaceChildren(...fields);
}

// the examples menu (showing which example the editor holds, if any)
const menu = $<HTMLSelectElement>("examples");
menu.add(new Option("— your model —", ""));
for (const ex of examples) menu.add(new Option(ex.label, ex.name));
const showExample = () => (menu.value = examples.find((x) => x.source === view.state.doc.toString())?.name ?? "");
menu.addEventListener("change", () => {
  const ex = examples.find((x) => x.name === menu.value);
  if (!ex) return;
  at = "";
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: ex.source } });
});
$("random").addEventListener("click", () => {
  at = `random:${Math.floor(Math.random() * 1e6)}`;
  run();
});

// take it away: the module, the derivation, the graph, a link
function download(name: string, text: string | undefined, type: string): void {
  if (text === undefined) return;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}
$("dl-ts").addEventListener("click", () => download("model.ts", last?.typescript, "text/typescript"));
$("dl-md").addEventListener("click", () => download("model.md", last?.markdown, "text/markdown"));
$("dl-tex").addEventListener("click", () => download("model.tex", last?.tex, "application/x-tex"));
$("dl-svg").addEventListener("click", () => download("model.svg", last?.graph, "image/svg+xml"));
$("copy-link").addEventListener("click", () => void navigator.clipboard?.writeText(location.href));
$("copy-code").addEventListener("click", () => void navigator.clipboard?.writeText(last?.typescript ?? ""));

// panels as tabs, keyboard-usable (arrow keys move between tabs)
const tabs = [...document.querySelectorAll<HTMLButtonElement>("[role=tab]")];
function select(tab: HTMLButtonElement): void {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")!).hidden = !on;
  }
}
tabs.forEach((t, i) => {
  t.addEventListener("click", () => select(t));
  t.addEventListener("keydown", (e) => {
    const k = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!k) return;
    const next = tabs[(i + k + tabs.length) % tabs.length];
    select(next);
    next.focus();
  });
});
select(tabs[0]);
window.addEventListener("hashchange", () => {
  const s = readHash(location.hash);
  if (s.source !== undefined && s.source !== view.state.doc.toString()) {
    at = s.at ?? "";
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: s.source } });
  }
});

run();
