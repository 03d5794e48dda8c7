// Cedar for CodeMirror: a stream tokenizer (no grammar to ship) and colours that
// read in light and dark alike (they come from CSS variables set by the editor's
// host, see CodeEditor.svelte).
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StringStream } from "@codemirror/language";
import type { Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { Tag, tags as t } from "@lezer/highlight";

export interface CedarState {
  /** Inside a string that started on an earlier line. */
  inString: boolean;
  /** The string about to start is an entity id (it follows `Type::`). */
  entityId: boolean;
}

const EFFECTS = new Set(["permit", "forbid"]);
const KEYWORDS = new Set(["when", "unless", "in", "has", "like", "is", "if", "then", "else"]);
const VARIABLES = new Set(["principal", "action", "resource", "context"]);
const ATOMS = new Set(["true", "false"]);

/** `permit` and `forbid` get their own colours: the first thing a reader looks for. */
export const permitTag = Tag.define();
export const forbidTag = Tag.define();
export const entityIdTag = Tag.define(t.string);

function readString(stream: StringStream, state: CedarState): string {
  const kind = state.entityId ? "entityId" : "string";
  while (!stream.eol()) {
    const ch = stream.next();
    if (ch === "\\") stream.next();
    else if (ch === '"') {
      state.inString = false;
      state.entityId = false;
      return kind;
    }
  }
  state.inString = true;
  return kind;
}

/** The tokenizer: the token's style name, or null for plain text. */
export function cedarToken(stream: StringStream, state: CedarState): string | null {
  if (state.inString) return readString(stream, state);
  if (stream.eatSpace()) return null;
  if (stream.match("//")) {
    stream.skipToEnd();
    return "comment";
  }
  if (stream.match(/^@[A-Za-z_][A-Za-z0-9_]*/)) return "annotation";
  if (stream.peek() === '"') {
    stream.next();
    return readString(stream, state);
  }
  // An entity type or path before an id: `User::"alice"`, `Gatehouse::Action::"x"`.
  if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*::(?=\s*")/)) {
    state.entityId = true;
    return "typeName";
  }
  const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
  if (word) {
    const w = word[0];
    if (EFFECTS.has(w)) return w;
    if (KEYWORDS.has(w)) return "keyword";
    if (VARIABLES.has(w)) return "variableName.special";
    if (ATOMS.has(w)) return "bool";
    if (stream.match(/^\s*\(/, false)) return "variableName.function";
    // An entity type in `is User` or a type path without an id.
    if (/^[A-Z]/.test(w)) return "typeName";
    return "propertyName";
  }
  if (stream.match(/^\d+/)) return "number";
  if (stream.match(/^(?:==|!=|<=|>=|&&|\|\||[<>!+\-*])/)) return "operator";
  if (stream.match(/^[()[\]{}]/)) return "bracket";
  if (stream.match(/^[,;.:]/)) return "punctuation";
  stream.next();
  return null;
}

export const cedarLanguage = StreamLanguage.define<CedarState>({
  name: "cedar",
  startState: () => ({ inString: false, entityId: false }),
  copyState: (s) => ({ ...s }),
  token: cedarToken,
  languageData: { commentTokens: { line: "//" } },
  tokenTable: { permit: permitTag, forbid: forbidTag, entityId: entityIdTag, annotation: t.annotation },
});

const v = (name: string) => `var(--cm-${name})`;

export const cedarHighlightStyle = HighlightStyle.define([
  { tag: permitTag, color: v("permit"), fontWeight: "700" },
  { tag: forbidTag, color: v("forbid"), fontWeight: "700" },
  { tag: t.keyword, color: v("keyword"), fontWeight: "600" },
  { tag: t.special(t.variableName), color: v("variable") },
  { tag: t.annotation, color: v("annotation") },
  { tag: t.comment, color: v("comment"), fontStyle: "italic" },
  { tag: entityIdTag, color: v("entity-id") },
  { tag: t.string, color: v("string") },
  { tag: t.typeName, color: v("type") },
  { tag: [t.number, t.bool], color: v("atom") },
  { tag: t.function(t.variableName), color: v("function") },
  { tag: t.operator, color: v("operator") },
  { tag: [t.propertyName], color: v("property") },
]);

/** The editor's frame, from the app's own colours. */
export const cedarTheme = EditorView.theme({
  "&": { backgroundColor: "var(--surface)", color: "var(--text)", fontSize: "13px", height: "100%" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55" },
  ".cm-content": { caretColor: "var(--text)", padding: "8px 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--text)" },
  ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--text-3)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine": { backgroundColor: v("active-line") },
  ".cm-activeLineGutter": { backgroundColor: v("active-line"), color: "var(--text-2)" },
  "&.cm-focused": { outline: "none" },
  ".cm-matchingBracket, &.cm-focused .cm-matchingBracket": { backgroundColor: v("match"), outline: `1px solid ${v("match-border")}` },
  ".cm-nonmatchingBracket, &.cm-focused .cm-nonmatchingBracket": { backgroundColor: "var(--danger-soft)", color: "var(--danger)" },
  ".cm-tooltip": { backgroundColor: "var(--surface)", color: "var(--text)", border: "1px solid var(--border)", borderRadius: "6px" },
  ".cm-diagnostic": { fontFamily: "system-ui, sans-serif" },
});

export function cedar(): Extension {
  return [cedarLanguage, syntaxHighlighting(cedarHighlightStyle), cedarTheme];
}
