import { describe, expect, it } from "vitest";
import { StringStream } from "@codemirror/language";
import { cedarToken, type CedarState } from "./cedar";

/** The tokens of each line, as [text, style] pairs, carrying state across lines. */
function tokens(...lines: string[]): [string, string | null][] {
  const state: CedarState = { inString: false, entityId: false };
  const out: [string, string | null][] = [];
  for (const line of lines) {
    const stream = new StringStream(line, 4, 2);
    while (!stream.eol()) {
      const style = cedarToken(stream, state);
      const text = line.slice(stream.start, stream.pos);
      if (text.trim()) out.push([text, style]);
      stream.start = stream.pos;
    }
  }
  return out;
}

describe("cedar tokenizer", () => {
  it("styles a policy", () => {
    expect(tokens('@id("a") permit (principal == User::"alice", action in Action::"audit.search", resource)')).toEqual([
      ["@id", "annotation"], ["(", "bracket"], ['"a"', "string"], [")", "bracket"],
      ["permit", "permit"], ["(", "bracket"], ["principal", "variableName.special"], ["==", "operator"],
      ["User::", "typeName"], ['"alice"', "entityId"], [",", "punctuation"],
      ["action", "variableName.special"], ["in", "keyword"], ["Action::", "typeName"], ['"audit.search"', "entityId"],
      [",", "punctuation"], ["resource", "variableName.special"], [")", "bracket"],
    ]);
  });
  it("knows forbid, conditions, comments, numbers, escapes and methods", () => {
    expect(tokens('forbid (principal, action, resource) // why', 'unless { context.time > 10 && ip("1").isLoopback() && "a\\"b" like "*" };')).toEqual([
      ["forbid", "forbid"], ["(", "bracket"], ["principal", "variableName.special"], [",", "punctuation"],
      ["action", "variableName.special"], [",", "punctuation"], ["resource", "variableName.special"], [")", "bracket"],
      ["// why", "comment"],
      ["unless", "keyword"], ["{", "bracket"], ["context", "variableName.special"], [".", "punctuation"],
      ["time", "propertyName"], [">", "operator"], ["10", "number"], ["&&", "operator"],
      ["ip", "variableName.function"], ["(", "bracket"], ['"1"', "string"], [")", "bracket"], [".", "punctuation"],
      ["isLoopback", "variableName.function"], ["(", "bracket"], [")", "bracket"], ["&&", "operator"],
      ['"a\\"b"', "string"], ["like", "keyword"], ['"*"', "string"], ["}", "bracket"], [";", "punctuation"],
    ]);
  });
  it("carries an unfinished string to the next line", () => {
    expect(tokens('when { "abc', 'def" == true }')).toEqual([
      ["when", "keyword"], ["{", "bracket"], ['"abc', "string"], ['def"', "string"], ["==", "operator"],
      ["true", "bool"], ["}", "bracket"],
    ]);
  });
});
