// Just enough of Cedar's schema syntax to prefill the simulate form: the
// attributes of each entity type, the groups it can be in, common types and each
// action's context. Tolerant: whatever it cannot read is left out, never thrown.

export type SchemaType =
  | { kind: "record"; attributes: SchemaAttribute[] }
  | { kind: "set"; element: SchemaType }
  | { kind: "name"; name: string };

export interface SchemaAttribute {
  name: string;
  type: SchemaType;
  required: boolean;
}

export interface SchemaEntity {
  attributes: SchemaAttribute[];
  /** The entity types it can be `in`. */
  memberOf: string[];
}

export interface ParsedSchema {
  entities: Map<string, SchemaEntity>;
  types: Map<string, SchemaType>;
  /** Each action's context type, by action name. */
  contexts: Map<string, SchemaType>;
}

type Token = { kind: "ident" | "string" | "punct"; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i += 1;
    else if (text.startsWith("//", i)) {
      const nl = text.indexOf("\n", i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (c === '"') {
      let j = i + 1;
      let value = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\" && j + 1 < text.length) j += 1;
        value += text[j];
        j += 1;
      }
      tokens.push({ kind: "string", value });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 256));
      const value = m ? m[0] : c;
      tokens.push({ kind: "ident", value });
      i += value.length;
    } else if (text.startsWith("::", i)) {
      tokens.push({ kind: "punct", value: "::" });
      i += 2;
    } else {
      tokens.push({ kind: "punct", value: c });
      i += 1;
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  is(value: string): boolean {
    return this.peek()?.value === value && this.peek()?.kind !== "string";
  }
  eat(value: string): boolean {
    if (!this.is(value)) return false;
    this.i += 1;
    return true;
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }
  /** Skips to just after the next `;` at this nesting level (or the closing brace of the level). */
  skipStatement(): void {
    let depth = 0;
    while (!this.done()) {
      const t = this.peek()!;
      if (t.kind === "punct" && depth === 0 && t.value === "}") return;
      this.i += 1;
      if (t.kind !== "punct") continue;
      if (t.value === "{" || t.value === "[" || t.value === "(") depth += 1;
      else if (t.value === "}" || t.value === "]" || t.value === ")") depth = Math.max(0, depth - 1);
      else if (t.value === ";" && depth === 0) return;
    }
  }
  annotations(): void {
    while (this.is("@")) {
      this.i += 1;
      this.next();
      if (this.eat("(")) {
        while (!this.done() && !this.eat(")")) this.i += 1;
      }
    }
  }
  path(): string {
    const parts = [this.next()?.value ?? ""];
    while (this.is("::") && this.peek(1)?.kind === "ident") {
      this.i += 1;
      parts.push(this.next()!.value);
    }
    return parts.join("::");
  }
  type(): SchemaType {
    if (this.eat("{")) return { kind: "record", attributes: this.attributes() };
    if (this.is("Set") && this.peek(1)?.value === "<") {
      this.i += 2;
      const element = this.type();
      this.eat(">");
      return { kind: "set", element };
    }
    return { kind: "name", name: this.path() };
  }
  /** The attributes of a record, after its `{`, through its `}`. */
  attributes(): SchemaAttribute[] {
    const out: SchemaAttribute[] = [];
    while (!this.done() && !this.eat("}")) {
      this.annotations();
      const name = this.next();
      if (!name || name.kind === "punct") continue;
      const required = !this.eat("?");
      if (!this.eat(":")) continue;
      out.push({ name: name.value, type: this.type(), required });
      this.eat(",");
    }
    return out;
  }
  /** `in X` or `in [X, Y]`. */
  parents(): string[] {
    if (!this.eat("in")) return [];
    if (!this.eat("[")) return [this.peek()?.kind === "string" ? this.next()!.value : this.path()];
    const out: string[] = [];
    while (!this.done() && !this.eat("]")) {
      if (this.eat(",")) continue;
      out.push(this.peek()?.kind === "string" ? this.next()!.value : this.path());
    }
    return out;
  }
  names(): string[] {
    const out: string[] = [];
    do {
      const t = this.peek();
      if (!t || t.kind === "punct") break;
      out.push(this.next()!.value);
    } while (this.eat(","));
    return out;
  }
  declarations(schema: ParsedSchema): void {
    while (!this.done()) {
      this.annotations();
      if (this.eat("}")) return;
      if (this.eat("namespace")) {
        this.path();
        if (this.eat("{")) this.declarations(schema);
      } else if (this.eat("entity")) {
        const names = this.names();
        const memberOf = this.parents();
        this.eat("=");
        const attributes = this.is("{") ? (this.next(), this.attributes()) : [];
        for (const name of names) schema.entities.set(name, { attributes, memberOf });
        this.skipStatement();
      } else if (this.eat("type")) {
        const name = this.next()?.value ?? "";
        if (this.eat("=")) schema.types.set(name, this.type());
        this.skipStatement();
      } else if (this.eat("action")) {
        const names = this.names();
        this.parents();
        if (this.eat("appliesTo") && this.eat("{")) {
          while (!this.done() && !this.eat("}")) {
            const key = this.next()?.value;
            if (!this.eat(":")) continue;
            if (key === "context") {
              const context = this.type();
              for (const name of names) schema.contexts.set(name, context);
            } else if (this.eat("[")) {
              while (!this.done() && !this.eat("]")) this.i += 1;
            } else this.path();
            this.eat(",");
          }
        }
        this.skipStatement();
      } else this.skipStatement();
    }
  }
}

export function parseSchema(text: string): ParsedSchema {
  const schema: ParsedSchema = { entities: new Map(), types: new Map(), contexts: new Map() };
  try {
    new Parser(tokenize(text)).declarations(schema);
  } catch {
    // What was read before the surprise is still useful.
  }
  return schema;
}
