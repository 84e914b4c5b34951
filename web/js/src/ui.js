// Entry of the page bundle: what the Leptos app calls through `PlseUi` (see web/src/ffi.rs).
import { EditorView } from "@codemirror/view";
import { yamlEditor, codeView, diffView } from "./editor.js";
import { lint, runPython, onStatus, ruffLoaded } from "./checks.js";
import { engine, engineLibrary } from "./engine.js";

// editorOf: the CodeMirror view behind a DOM node (end-to-end tests edit through it).
globalThis.PlseUi = { yamlEditor, codeView, diffView, lint, runPython, onStatus, ruffLoaded, engine, engineLibrary, editorOf: (el) => EditorView.findFromDOM(el) };
