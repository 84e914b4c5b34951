// The editor parts most sessions never use, in their own chunk (esbuild code splitting):
// the merge view (only the paired-pattern diff tab) and the legacy stream modes of the
// non-Python, non-YAML artifacts. editor.js imports this module with `import()`, so the page
// fetches it the first time one of them is shown.
import { StreamLanguage } from "@codemirror/language";
import { toml } from "@codemirror/legacy-modes/mode/toml";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { shell } from "@codemirror/legacy-modes/mode/shell";

export { MergeView } from "@codemirror/merge";

const modes = { toml, dockerfile: dockerFile, shell };
const defined = new Map();

// The language of `lang` (one of `lazyLanguages` in editor.js), defined once.
export function legacyLanguage(lang) {
  if (!defined.has(lang)) defined.set(lang, StreamLanguage.define(modes[lang]));
  return defined.get(lang);
}
