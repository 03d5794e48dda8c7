import type { ApiError } from "./bindings";

/**
 * A SHA-256 fingerprint as `AB:CD:…`, from what a person pasted: case, colons,
 * spaces and a `SHA-256`/`sha256:` label do not matter; `null` if it is not one.
 * (The Rust side normalises the same way and decides; this only checks early.)
 */
export function normalizeFingerprint(text: string): string | null {
  let compact = text.replace(/[\s:]/g, "").toLowerCase();
  for (const label of ["certificatesha-256", "sha256fingerprint=", "sha-256", "sha256"]) {
    if (compact.startsWith(label)) {
      compact = compact.slice(label.length);
      break;
    }
  }
  if (!/^[0-9a-f]{64}$/.test(compact)) return null;
  return compact.toUpperCase().match(/../g)!.join(":");
}

/**
 * Checks the connect form before anything is sent; `null` when it may be sent.
 * Messages never repeat what was typed: a token pasted into the wrong field must
 * not end up on the screen.
 */
export function validateConnect(
  url: string,
  token: string,
  hasKeptToken: boolean,
  fingerprint = "",
): ApiError | null {
  const trimmed = url.trim();
  const fail = (code: ApiError["code"], message: string): ApiError => ({ code, message, request_id: "" });
  if (trimmed === "") return fail("invalid_server_url", "enter the server's address, like https://gatehouse.example:8443");
  if (!/^https:\/\//i.test(trimmed)) {
    return fail("invalid_server_url", "only https:// addresses work: Gatehouse has no plain-HTTP listener");
  }
  if (!/^https:\/\/[^/\s]+\/?$/i.test(trimmed)) {
    return fail("invalid_server_url", "give only the server's address, like https://host:8443, without a path");
  }
  if (token.trim() === "" && !hasKeptToken) return fail("invalid_input", "enter an API token for this server");
  if (fingerprint.trim() !== "" && normalizeFingerprint(fingerprint) === null) {
    return fail(
      "invalid_input",
      "that is not a SHA-256 fingerprint: paste the 64 hex digits `gatehouse init` printed (AB:CD:…)",
    );
  }
  return null;
}
