//! The authorization code grant (RFC 6749 §4.1) as RFC 9700 wants it: PKCE
//! with `S256` for every client (RFC 7636; `plain` and a missing challenge
//! are refused), exact redirect URIs, loopback redirects on any port for
//! native apps (RFC 8252 §7.3), codes good once for at most
//! [`CODE_TTL_SECONDS`], and the `iss` response parameter (RFC 9207). No
//! implicit grant, no hybrid flow: `response_type=code` only.
//!
//! The authorization request is checked in two steps, because RFC 6749
//! §4.1.2.1 forbids redirecting an error to a URI that is not the client's:
//! [`check_client`] (the client and its redirect URI; an error is shown to
//! the person, never redirected), then [`check_request`] (everything else; an
//! error goes back to the client).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::oauth::{GrantType, OAuthError, OAuthErrorCode, Params, Scopes};

/// An authorization code is exchanged within this, or never.
pub const CODE_TTL_SECONDS: i64 = 60;
/// A person has this long to sign in once a client sent them.
pub const REQUEST_TTL_SECONDS: i64 = 600;
/// The scope that makes a request an OpenID Connect one.
pub const OPENID: &str = "openid";
/// The OpenID Connect scopes (Core §5.4, §11) a client may be registered with.
pub const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];
const MAX_STATE_LEN: usize = 512;
const MAX_NONCE_LEN: usize = 255;

/// What the request check needs to know of the client a request names.
pub struct RegisteredClient<'a> {
    pub is_active: bool,
    pub grants: &'a [GrantType],
    pub scopes: &'a Scopes,
    pub redirect_uris: &'a [String],
}

/// Why an authorization request is shown an error page rather than sent
/// back: there is no redirect URI it may safely go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRedirect {
    MissingClient,
    UnknownClient,
    MissingRedirectUri,
    RedirectUriMismatch,
}

impl NoRedirect {
    /// What the person is told.
    pub fn message(self) -> &'static str {
        match self {
            Self::MissingClient => "The application did not say who it is (client_id is missing).",
            Self::UnknownClient => "The application is not registered here, or has been disabled.",
            Self::MissingRedirectUri => {
                "The application did not say where to return you (redirect_uri is missing)."
            }
            Self::RedirectUriMismatch => {
                "The application asked to return you to an address it has not registered."
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingClient => "missing_client",
            Self::UnknownClient => "unknown_client",
            Self::MissingRedirectUri => "missing_redirect_uri",
            Self::RedirectUriMismatch => "redirect_uri_mismatch",
        }
    }
}

/// The client id a request names, before anything else is looked at.
pub fn client_id(params: &Params) -> Result<&str, NoRedirect> {
    params
        .get("client_id")
        .filter(|id| id.len() <= 64)
        .ok_or(NoRedirect::MissingClient)
}

/// The redirect URI the answer may go to: one the client registered (`None`
/// when the client is unknown or inactive).
pub fn check_client(
    client: Option<&RegisteredClient<'_>>,
    params: &Params,
) -> Result<String, NoRedirect> {
    let client = client
        .filter(|c| c.is_active)
        .ok_or(NoRedirect::UnknownClient)?;
    let requested = params
        .get("redirect_uri")
        .ok_or(NoRedirect::MissingRedirectUri)?;
    if client
        .redirect_uris
        .iter()
        .any(|registered| redirect_matches(registered, requested))
    {
        Ok(requested.to_owned())
    } else {
        Err(NoRedirect::RedirectUriMismatch)
    }
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 code challenge (43 base64url characters).
    pub code_challenge: String,
    /// A hint at who is signing in (`login_hint`), to fill the form with.
    pub login_hint: Option<String>,
}

impl AuthorizationRequest {
    pub fn is_openid(&self) -> bool {
        self.scopes.contains(OPENID)
    }
}

fn refuse(code: OAuthErrorCode, description: &str) -> OAuthError {
    OAuthError::new(code, description)
}

/// The rest of the request, once [`check_client`] passed. An error here is
/// sent back to the client's redirect URI with the request's `state`.
pub fn check_request(
    client: &RegisteredClient<'_>,
    redirect_uri: String,
    params: &Params,
) -> Result<AuthorizationRequest, OAuthError> {
    let invalid = |d: &str| refuse(OAuthErrorCode::InvalidRequest, d);
    if params.get("request").is_some() {
        return Err(refuse(
            OAuthErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refuse(
            OAuthErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                OAuthErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
        None => return Err(invalid("parameter response_type is required")),
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(invalid("only response_mode=query is supported"));
    }
    if !client.grants.contains(&GrantType::AuthorizationCode) {
        return Err(refuse(
            OAuthErrorCode::UnauthorizedClient,
            "the client may not use the authorization code grant",
        ));
    }
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, _) => return Err(invalid("PKCE is required: send code_challenge with S256")),
        (Some(_), None | Some("plain")) => {
            return Err(invalid("code_challenge_method must be S256"))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(invalid("code_challenge_method must be S256"))
        }
        (Some(challenge), Some(_)) => {
            if !is_s256_challenge(challenge) {
                return Err(invalid(
                    "code_challenge must be 43 base64url characters (S256)",
                ));
            }
            challenge.to_owned()
        }
    };
    let scopes = match params.get("scope") {
        Some(text) => Scopes::parse(text)?,
        None => client.scopes.clone(),
    };
    if scopes.is_empty() || !scopes.is_subset(client.scopes) {
        return Err(refuse(
            OAuthErrorCode::InvalidScope,
            "the client may not ask for that scope",
        ));
    }
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        // Every sign-in here is a fresh one: there is no session to reuse.
        return Err(refuse(
            OAuthErrorCode::LoginRequired,
            "the person must sign in",
        ));
    }
    let state = params.get("state").map(str::to_owned);
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(invalid("state is too long"));
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(invalid("nonce is too long"));
    }
    let login_hint = params
        .get("login_hint")
        .filter(|h| h.len() <= 254)
        .map(str::to_owned);
    Ok(AuthorizationRequest {
        redirect_uri,
        scopes,
        state,
        nonce,
        code_challenge,
        login_hint,
    })
}

/// Whether `requested` is `registered`: exactly, or for a loopback `http`
/// URI, with any port (RFC 8252 §7.3). `localhost` is matched exactly only
/// (§8.3: it may resolve elsewhere).
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if requested.contains('#') {
        return false;
    }
    if registered == requested {
        return true;
    }
    match (
        loopback_without_port(registered),
        loopback_without_port(requested),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `http://127.0.0.1[:port]/rest` or `http://[::1][:port]/rest` as the host
/// and the rest, port dropped.
fn loopback_without_port(uri: &str) -> Option<(&'static str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let (host, after) = if let Some(r) = rest.strip_prefix("127.0.0.1") {
        ("127.0.0.1", r)
    } else {
        ("[::1]", rest.strip_prefix("[::1]")?)
    };
    let after = match after.strip_prefix(':') {
        Some(with_port) => {
            let end = with_port
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(with_port.len());
            let port: u32 = with_port.get(..end)?.parse().ok()?;
            if port == 0 || port > 65_535 {
                return None;
            }
            &with_port[end..]
        }
        None => after,
    };
    (after.is_empty() || after.starts_with('/') || after.starts_with('?')).then_some((host, after))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.6: whether `verifier` (43 to 128 unreserved characters) is
/// the one `challenge` was made from, compared in constant time.
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The redirect URI with `pairs` added to its query (RFC 6749 §4.1.2: the
/// URI's own query kept).
pub fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = redirect_uri.to_owned();
    let mut separator = if redirect_uri.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        out.push(separator);
        out.push_str(name);
        out.push('=');
        out.push_str(&form_encode(value));
        separator = '&';
    }
    out
}

/// The error redirect of RFC 6749 §4.1.2.1, with `iss` (RFC 9207).
pub fn error_redirect(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut pairs = vec![("error", error.error.as_str())];
    if let Some(d) = &error.error_description {
        pairs.push(("error_description", d.as_str()));
    }
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    redirect_with(redirect_uri, &pairs)
}

#[cfg(test)]
#[path = "authorization_tests.rs"]
mod tests;
