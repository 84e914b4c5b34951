// CodeMirror 6 views used by the Leptos app: the pattern editor (YAML with Jinja inside),
// read-only code views with ruff markers, and the flawed/fixed diff. Every text arrives as
// a document string: nothing a pattern contains is ever parsed as HTML.
import { EditorState, Compartment, Annotation } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection } from "@codemirror/view";
import { Decoration, MatchDecorator, ViewPlugin } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, indentOnInput, LanguageSupport } from "@codemirror/language";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";
import { pythonLanguage } from "@codemirror/lang-python";
import { cssTheme, highlight } from "./theme.js";

// Jinja delimiters inside YAML: a decoration over `{{ … }}`, `{% … %}` and `{# … #}`, so the
// YAML structure keeps its own highlighting and the template parts stand out.
const jinjaMatcher = new MatchDecorator({
  regexp: /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g,
  decoration: Decoration.mark({ class: "cm-jinja" }),
});
const jinjaHighlight = ViewPlugin.define((view) => ({
  decorations: jinjaMatcher.createDeco(view),
  update(u) { this.decorations = jinjaMatcher.updateDeco(u, this.decorations); },
}), { decorations: (v) => v.decorations });

// The merge view and the TOML/Dockerfile/shell modes live in a chunk loaded on first use
// (lazy.js); Python and YAML, needed by the first render, are in the page bundle.
const lazyLanguages = new Set(["toml", "dockerfile", "shell"]);
let lazyModule = null;
let lazyLoading = null;
function loadLazy() {
  lazyLoading ??= import("./lazy.js").then((m) => { lazyModule = m; return m; }, (e) => { lazyLoading = null; throw e; });
  return lazyLoading;
}

// Python without `python()`'s completion sources: no view here has autocompletion, so they
// were dead weight (the highlighting and indentation come from the language itself).
const pythonSupport = new LanguageSupport(pythonLanguage);

// The language extension of `lang` as far as it is loaded now: a lazy mode not yet loaded
// gives no highlighting until `languageLoaded` resolves.
function language(lang) {
  switch (lang) {
    case "python": return pythonSupport;
    case "yaml": return yaml();
    default: return lazyLanguages.has(lang) && lazyModule ? lazyModule.legacyLanguage(lang) : [];
  }
}

// The language of `lang` once loaded (at once unless it is a lazy mode seen for the first time).
const languageLoaded = (lang) => (lazyLanguages.has(lang) ? loadLazy().then(() => language(lang)) : Promise.resolve(language(lang)));

const base = () => [lineNumbers(), highlightActiveLineGutter(), drawSelection(), highlight, cssTheme, EditorView.lineWrapping];

// Offsets from line/column pairs (1-based, UTF-16 columns), clamped to the document.
function offset(doc, row, column) {
  const line = doc.line(Math.min(Math.max(row, 1), doc.lines));
  return Math.min(line.from + Math.max(column - 1, 0), line.to);
}

const external = Annotation.define();

// The smallest single change turning `old` into `text` (common prefix and suffix kept), so an
// update re-parses only what changed instead of the whole document.
function minimalChange(old, text) {
  if (old === text) return null;
  let from = 0;
  const max = Math.min(old.length, text.length);
  while (from < max && old.charCodeAt(from) === text.charCodeAt(from)) from++;
  let end = 0;
  while (end < max - from && old.charCodeAt(old.length - 1 - end) === text.charCodeAt(text.length - 1 - end)) end++;
  return { from, to: old.length - end, insert: text.slice(from, text.length - end) };
}

export function yamlEditor(parent, text, onChange, onRun) {
  let lastMarkers = null;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        base(), history(), indentOnInput(), bracketMatching(), highlightActiveLine(), highlightSelectionMatches(),
        lintGutter(), yaml(), jinjaHighlight,
        keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }, ...defaultKeymap, ...historyKeymap, ...searchKeymap, indentWithTab]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !u.transactions.some((tr) => tr.annotation(external))) onChange(u.state.doc.toString());
        }),
        EditorView.contentAttributes.of({ "aria-label": "Pattern YAML" }),
      ],
    }),
  });
  return {
    view,
    setDoc(doc) {
      const change = minimalChange(view.state.doc.toString(), doc);
      if (change) view.dispatch({ changes: change, annotations: external.of(true) });
    },
    getDoc() { return view.state.doc.toString(); },
    // markers: [{from, to, severity, message}] in UTF-16 offsets (computed by the engine).
    // Markers of `text`: an answer for an older text (the author typed on meanwhile) would
    // land on the wrong characters, so it is skipped; the newer text's answer places them.
    setMarkers(json, text) {
      if (text !== view.state.doc.toString()) return;
      if (json === lastMarkers) return;
      lastMarkers = json;
      const len = view.state.doc.length;
      const diags = JSON.parse(json).map((m) => ({
        from: Math.min(m.from, len), to: Math.min(Math.max(m.to, m.from), len), severity: m.severity, message: m.message,
      }));
      view.dispatch(setDiagnostics(view.state, diags));
    },
    jump(pos) {
      const at = Math.min(pos, view.state.doc.length);
      view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      view.focus();
    },
    // Replaces the document as a user edit would (end-to-end tests and "new pattern").
    type(doc) { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc } }); },
  };
}

export function codeView(parent) {
  const lang = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: "",
      extensions: [base(), lintGutter(), lang.of([]), EditorState.readOnly.of(true), EditorView.editable.of(false)],
    }),
  });
  let shownLang = null;
  let shownMarkers = null;
  return {
    view,
    // markers: [{row, column, end_row, end_column, severity, message}] from ruff. Only what
    // differs from what is shown is dispatched: most edits of a pattern leave the code alone.
    show(text, language_, markersJson) {
      const change = minimalChange(view.state.doc.toString(), text);
      const relang = language_ !== shownLang;
      if (change || relang) {
        view.dispatch({ changes: change || [], effects: relang ? lang.reconfigure(language(language_)) : [] });
        shownLang = language_;
        // A lazy mode seen for the first time: highlighted once its chunk is here (unless
        // another language was shown meanwhile).
        if (relang && lazyLanguages.has(language_) && !lazyModule) {
          languageLoaded(language_).then((ext) => {
            if (shownLang === language_) view.dispatch({ effects: lang.reconfigure(ext) });
          }, (e) => console.warn(`the ${language_} mode could not be loaded: ${e.message}`));
        }
      } else if (markersJson === shownMarkers) {
        return;
      }
      shownMarkers = markersJson;
      const doc = view.state.doc;
      const diags = JSON.parse(markersJson || "[]").map((m) => {
        const from = offset(doc, m.row, m.column);
        return { from, to: Math.max(from, offset(doc, m.end_row, m.end_column)), severity: m.severity, message: m.message };
      });
      view.dispatch(setDiagnostics(view.state, diags));
    },
    text() { return view.state.doc.toString(); },
  };
}

export function diffView(parent) {
  let merge = null;
  let latest = 0;
  return {
    // The merge view's chunk loads on the first diff; only the latest request is shown.
    show(a, b, lang) {
      const request = ++latest;
      Promise.all([loadLazy(), languageLoaded(lang)]).then(([{ MergeView }, langExt]) => {
        if (request !== latest) return;
        if (merge) merge.destroy();
        else parent.replaceChildren();
        const side = (doc) => ({ doc, extensions: [base(), langExt, EditorState.readOnly.of(true), EditorView.editable.of(false)] });
        merge = new MergeView({ a: side(a), b: side(b), parent, highlightChanges: true, gutter: true });
      }, (e) => {
        if (request !== latest) return;
        if (merge) merge.destroy();
        merge = null;
        parent.textContent = `The diff view could not be loaded (${e.message}); reload the page to try again.`;
      });
    },
  };
}
