// OAuth clients and signing keys: the register and edit forms as requests,
// and keys in the order of their lives. The server checks every request
// (redirect URIs, grants a public client may hold, scopes) and decides.
import type {
  ClientResponse, CreateClientRequest, GrantType, KeyResponse, Role, SigningKeyState, UpdateClientRequest,
} from "../bindings";
import { splitList } from "../format";

/** Every grant type (complete: a Record over GrantType). */
export const GRANT_LABELS: Record<GrantType, string> = {
  client_credentials: "Client credentials (a service acting as itself)",
  authorization_code: "Authorization code with PKCE (people signing in)",
  refresh_token: "Refresh token",
};
export const GRANT_TYPES = Object.keys(GRANT_LABELS) as GrantType[];

export const ROLE_LABELS: Record<Role, string> = {
  service: "service",
  auditor: "auditor",
  administrator: "administrator",
  user: "user",
};
export const ROLES = Object.keys(ROLE_LABELS) as Role[];

/** The register form as typed. */
export type ClientForm = {
  name: string;
  role: Role;
  is_confidential: boolean;
  grant_types: GrantType[];
  /** Space- or comma-separated. */
  scopes: string;
  /** One per line. */
  redirect_uris: string;
};

export function emptyClientForm(): ClientForm {
  return { name: "", role: "service", is_confidential: true, grant_types: ["client_credentials"], scopes: "", redirect_uris: "" };
}

export const scopesOf = (text: string) => splitList(text, /[\s,]+/);
export const urisOf = (text: string) => splitList(text, /\n/);

/** The grant types ticked, in the listed order. */
export function withGrant(grants: readonly GrantType[], grant: GrantType, on: boolean): GrantType[] {
  return GRANT_TYPES.filter((g) => (g === grant ? on : grants.includes(g)));
}

export function createRequestOf(form: ClientForm): CreateClientRequest {
  return {
    name: form.name.trim(),
    role: form.role,
    is_confidential: form.is_confidential,
    grant_types: GRANT_TYPES.filter((g) => form.grant_types.includes(g)),
    scopes: scopesOf(form.scopes),
    redirect_uris: urisOf(form.redirect_uris),
  };
}

/** What the edit form may change of a client. */
export type ClientEdit = { name: string; scopes: string; redirect_uris: string };

export function editOf(client: ClientResponse): ClientEdit {
  return { name: client.name, scopes: client.scopes.join(" "), redirect_uris: client.redirect_uris.join("\n") };
}

/** The changed fields only; null when nothing changed. */
export function updateRequestOf(client: ClientResponse, edit: ClientEdit): UpdateClientRequest | null {
  const request: UpdateClientRequest = {};
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  const name = edit.name.trim();
  if (name !== client.name) request.name = name;
  const scopes = scopesOf(edit.scopes);
  if (!same(scopes, client.scopes)) request.scopes = scopes;
  const uris = urisOf(edit.redirect_uris);
  if (!same(uris, client.redirect_uris)) request.redirect_uris = uris;
  return Object.keys(request).length > 0 ? request : null;
}

/** A key's life, in order (complete: a Record over SigningKeyState). */
export const KEY_STATES: Record<SigningKeyState, { rank: number; label: string }> = {
  next: { rank: 0, label: "next: published, signs after the next rotation" },
  current: { rank: 1, label: "current: signs new tokens" },
  previous: { rank: 2, label: "previous: verifies the tokens it signed until they expire" },
  retired: { rank: 3, label: "retired: verifies nothing" },
};

/** Keys as the table lists them: next, current, previous, then retired ones newest first. */
export function sortKeys(keys: readonly KeyResponse[]): KeyResponse[] {
  return [...keys].sort(
    (a, b) => KEY_STATES[a.state].rank - KEY_STATES[b.state].rank || b.created_at.localeCompare(a.created_at),
  );
}
