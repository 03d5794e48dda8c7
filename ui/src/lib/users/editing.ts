// One user's edit form: attributes typed by the user type's declarations,
// checked here before anything is sent (the server checks again and decides),
// and the edit request holding only what changed.
//
// The limits mirror gatehouse-identity's user_type.rs: strings at most
// max_length (256 by default) characters, sets at most 32 items of 256, longs
// whole numbers, entitlements 1 to 64 of a-z 0-9 : . _ - (at most 64 of them),
// display names 1 to 128 characters; none with control characters.
import type { AttributeDeclaration, UpdateUserRequest, UserResponse, UserTypeDefinition } from "../bindings";
import { splitList } from "../format";

export const DEFAULT_STRING_CHARS = 256;
export const MAX_SET_ITEMS = 32;
export const MAX_SET_ITEM_CHARS = 256;
export const MAX_ENTITLEMENTS = 64;
export const MAX_DISPLAY_NAME_CHARS = 128;
const ENTITLEMENT = /^[a-z0-9][a-z0-9:._-]{0,63}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** What an attribute's input holds: text (string, long, set as a comma list), or a boolean (null: unset). */
export type AttributeInput = string | boolean | null;

export type UserForm = {
  display_name: string;
  user_type: string;
  attributes: Record<string, AttributeInput>;
  /** Comma-separated or one per line. */
  entitlements: string;
};

/** Field → message; fields are named as the server names them (`attributes.<name>`). */
export type FieldErrors = Record<string, string>;

const chars = (s: string) => [...s].length;

/** A stored value as its input shows it. */
export function inputOf(decl: AttributeDeclaration, value: unknown): AttributeInput {
  if (decl.kind === "boolean") return typeof value === "boolean" ? value : null;
  if (value === undefined || value === null) return "";
  if (decl.kind === "string_set") return Array.isArray(value) ? value.map(String).join(", ") : String(value);
  return String(value);
}

/** A value as text, for reading (read-only views). */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return "—";
  if (Array.isArray(value)) return value.map(String).join(", ");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An input read as its declaration types it: a value, unset (`value` undefined), or why it cannot be. */
export function parseAttribute(decl: AttributeDeclaration, input: AttributeInput): { value?: unknown; error?: string } {
  const missing = () => (decl.is_required ? { error: "is required" } : {});
  if (decl.kind === "boolean") {
    if (typeof input === "boolean") return { value: input };
    return missing();
  }
  const text = typeof input === "string" ? input.trim() : "";
  if (text === "") return missing();
  switch (decl.kind) {
    case "string": {
      const max = decl.max_length ?? DEFAULT_STRING_CHARS;
      if (chars(text) > max) return { error: `is longer than ${max} characters` };
      if (CONTROL.test(text)) return { error: "must not contain control characters" };
      return { value: text };
    }
    case "long": {
      if (!/^[+-]?\d+$/.test(text)) return { error: "must be a whole number" };
      const n = Number(text);
      if (!Number.isSafeInteger(n)) {
        return { error: `must be between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}` };
      }
      return { value: n };
    }
    case "string_set": {
      const items = splitList(text, /,/);
      if (items.length === 0) return missing();
      if (items.length > MAX_SET_ITEMS) return { error: `has more than ${MAX_SET_ITEMS} items` };
      if (items.some((i) => chars(i) > MAX_SET_ITEM_CHARS)) {
        return { error: `has an item longer than ${MAX_SET_ITEM_CHARS} characters` };
      }
      if (items.some((i) => CONTROL.test(i))) return { error: "must not contain control characters" };
      return { value: [...items].sort() };
    }
  }
}

/** The whole set of attributes the inputs stand for, and what is wrong with them. */
export function attributesOf(
  decls: readonly AttributeDeclaration[],
  inputs: Record<string, AttributeInput>,
): { attributes: Record<string, unknown>; errors: FieldErrors } {
  const attributes: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const decl of decls) {
    const parsed = parseAttribute(decl, inputs[decl.name] ?? (decl.kind === "boolean" ? null : ""));
    if (parsed.error) errors[`attributes.${decl.name}`] = parsed.error;
    else if (parsed.value !== undefined) attributes[decl.name] = parsed.value;
  }
  return { attributes, errors };
}

/** Entitlements typed one per line or comma-separated. */
export function parseEntitlements(text: string): { entitlements: string[]; error: string | null } {
  const entitlements = splitList(text).sort();
  if (entitlements.length > MAX_ENTITLEMENTS) {
    return { entitlements, error: `a user has at most ${MAX_ENTITLEMENTS} entitlements` };
  }
  const wrong = entitlements.find((e) => !ENTITLEMENT.test(e));
  if (wrong !== undefined) {
    return { entitlements, error: "each must be 1 to 64 of a-z, 0-9, :, ., _ and -, starting with a letter or digit" };
  }
  return { entitlements, error: null };
}

export function checkDisplayName(name: string): string | null {
  const n = chars(name.trim());
  if (n === 0) return "is required";
  if (n > MAX_DISPLAY_NAME_CHARS) return `is longer than ${MAX_DISPLAY_NAME_CHARS} characters`;
  if (CONTROL.test(name)) return "must not contain control characters";
  return null;
}

/** Equal as attribute values: sets compare whatever their order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const x = a.map(String).sort();
    const y = b.map(String).sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return a === b;
}

export function sameAttributes(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!sameValue(a[k], b[k])) return false;
  return true;
}

export function declarationsOf(types: readonly UserTypeDefinition[], name: string): AttributeDeclaration[] | null {
  return types.find((t) => t.name === name)?.attributes ?? null;
}

/** The form as a user's stored values fill it. */
export function formOf(user: UserResponse, types: readonly UserTypeDefinition[]): UserForm {
  const attributes: Record<string, AttributeInput> = {};
  for (const decl of declarationsOf(types, user.user_type) ?? []) {
    attributes[decl.name] = inputOf(decl, user.attributes[decl.name]);
  }
  return {
    display_name: user.display_name,
    user_type: user.user_type,
    attributes,
    entitlements: user.entitlements.join("\n"),
  };
}

/**
 * The edit the form makes of `user`: only the fields that changed (all the
 * attributes when any did, or when the type did: the server takes the whole set),
 * null when nothing did; and what stops it from being sent.
 */
export function changesOf(
  user: UserResponse,
  form: UserForm,
  types: readonly UserTypeDefinition[],
): { request: UpdateUserRequest | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const request: UpdateUserRequest = {};

  const name = form.display_name.trim();
  const nameError = checkDisplayName(form.display_name);
  if (nameError) errors.display_name = nameError;
  else if (name !== user.display_name) request.display_name = name;

  const typeChanged = form.user_type !== user.user_type;
  const decls = declarationsOf(types, form.user_type);
  if (typeChanged) {
    if (decls === null) errors.user_type = "is not a known user type";
    else request.user_type = form.user_type;
  }
  // Without the type's declarations (not loaded) the attributes are left as they are.
  if (decls !== null) {
    const parsed = attributesOf(decls, form.attributes);
    Object.assign(errors, parsed.errors);
    if (typeChanged || !sameAttributes(parsed.attributes, user.attributes)) request.attributes = parsed.attributes;
  }

  const entitlements = parseEntitlements(form.entitlements);
  if (entitlements.error) errors.entitlements = entitlements.error;
  else if (!sameValue(entitlements.entitlements, user.entitlements)) request.entitlements = entitlements.entitlements;

  return { request: Object.keys(request).length > 0 ? request : null, errors };
}

/**
 * Whether two versions of a user hold the same editable fields: an edit made
 * from one may then be sent as made from the other (a lock in between changed
 * only the status), with no risk of undoing someone else's change.
 */
export function sameEditable(a: UserResponse, b: UserResponse): boolean {
  return a.id === b.id && a.display_name === b.display_name && a.user_type === b.user_type &&
    sameAttributes(a.attributes, b.attributes) && sameValue(a.entitlements, b.entitlements);
}
