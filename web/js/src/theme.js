// Editor colours come from CSS variables (web/style.css), so the page's light/dark switch
// recolours every editor without reconfiguring them.
import { EditorView } from "@codemirror/view";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

export const cssTheme = EditorView.theme({
  "&": { color: "var(--fg)", backgroundColor: "var(--editor-bg)", height: "100%", fontSize: "13px" },
  ".cm-content": { caretColor: "var(--fg)", fontFamily: "var(--mono)" },
  ".cm-gutters": { backgroundColor: "var(--panel)", color: "var(--muted)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine": { backgroundColor: "var(--active-line)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--active-line)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": { backgroundColor: "var(--selection)" },
  ".cm-cursor": { borderLeftColor: "var(--fg)" },
  ".cm-tooltip": { backgroundColor: "var(--panel)", color: "var(--fg)", border: "1px solid var(--border)" },
  ".cm-jinja": { backgroundColor: "var(--jinja-bg)", borderRadius: "2px" },
  ".cm-scroller": { overflow: "auto" },
});

export const highlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.definitionKeyword, t.moduleKeyword], color: "var(--tok-keyword)" },
    { tag: [t.string, t.special(t.string), t.content], color: "var(--tok-string)" },
    { tag: [t.number, t.bool, t.null, t.atom], color: "var(--tok-number)" },
    { tag: [t.comment, t.lineComment, t.blockComment], color: "var(--tok-comment)", fontStyle: "italic" },
    { tag: [t.propertyName, t.definition(t.propertyName), t.attributeName], color: "var(--tok-property)" },
    { tag: [t.function(t.variableName), t.function(t.propertyName), t.definition(t.variableName)], color: "var(--tok-function)" },
    { tag: [t.typeName, t.className, t.namespace], color: "var(--tok-type)" },
    { tag: [t.brace, t.bracket, t.punctuation, t.separator, t.operator], color: "var(--tok-punct)" },
    { tag: [t.meta, t.processingInstruction, t.labelName], color: "var(--tok-meta)" },
  ]),
);
