import type { ApiError } from "./bindings";

/** Checks the connect form before anything is sent; `null` when it may be sent. */
export function validateConnect(url: string, token: string, hasKeptToken: boolean): ApiError | null {
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
  return null;
}
