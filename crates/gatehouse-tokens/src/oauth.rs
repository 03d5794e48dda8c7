//! OAuth 2.0's grant logic (RFC 6749), without HTTP: client secrets, client
//! authentication, scopes, the token request and its errors in the RFC's shape.

use std::collections::BTreeSet;
use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::rng::Random;

/// Client secrets: 256 random bits (RFC 6749 §10.10 asks for ≥ 128), so a fast
/// hash is enough to store them; shown once, never stored in clear.
const SECRET_PREFIX: &str = "ghs_";
const SECRET_BYTES: usize = 32;
/// Longest parameter value accepted anywhere in a request: bounds what an
/// anonymous caller makes the server hold and hash.
pub const MAX_PARAMETER_LEN: usize = 1024;

/// A new client secret, to show once.
pub fn generate_secret(rng: &mut dyn Random) -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `secret` is the one `stored` is the hash of, in constant time.
pub fn secret_matches(secret: &str, stored: &[u8]) -> bool {
    bool::from(hash_secret(secret).ct_eq(stored))
}

/// Whether `secret` is the client's: its current secret, or the one it
/// replaced while that one's grace period (`previous_until`, Unix seconds) runs.
pub fn client_secret_accepted(
    secret: &str,
    current: &[u8],
    previous: Option<(&[u8], i64)>,
    now: i64,
) -> bool {
    // Both compared every time, so timing says nothing about which matched.
    let is_current = secret_matches(secret, current);
    let is_previous =
        previous.is_some_and(|(hash, until)| secret_matches(secret, hash) && now < until);
    is_current | is_previous
}

/// The error codes of RFC 6749 §5.2 and RFC 7009 §2.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    ServerError,
    TemporarilyUnavailable,
    /// The person (or the server for them) refused (RFC 6749 §4.1.2.1).
    AccessDenied,
    UnsupportedResponseType,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` and no one is signed in.
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }

    /// The HTTP status RFC 6749 §5.2 gives it: 401 for a failed client
    /// authentication, 503 when the server cannot serve now, 500 for its own
    /// errors, 400 otherwise.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error as OAuth endpoints answer it: `{"error", "error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: OAuthErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl OAuthError {
    pub fn new(error: OAuthErrorCode, description: &str) -> OAuthError {
        OAuthError {
            error,
            error_description: Some(description.into()),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error.as_str())?;
        if let Some(d) = &self.error_description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

fn invalid_request(description: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidRequest, description)
}

/// A request's form parameters, each at most once (RFC 6749 §3.1, §3.2:
/// "parameters MUST NOT be included more than once"), none empty-named,
/// none longer than [`MAX_PARAMETER_LEN`].
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// From `application/x-www-form-urlencoded` pairs, already decoded.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Params, OAuthError> {
        let mut seen = BTreeSet::new();
        for (name, value) in &pairs {
            if name.is_empty() || name.len() > 64 || value.len() > MAX_PARAMETER_LEN {
                return Err(invalid_request("a parameter is malformed or too long"));
            }
            if !seen.insert(name.as_str()) {
                return Err(invalid_request(&format!("parameter {name} is repeated")));
            }
        }
        Ok(Params(pairs))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| invalid_request(&format!("parameter {name} is required")))
    }
}

/// How a client proved who it is (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// A client's claimed identity and secret, not yet checked.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: String,
    pub method: AuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The client's credentials from the `Authorization` header's value (if any)
/// and the form: exactly one method (§2.3: "MUST NOT use more than one").
/// `Ok(None)` when the request carries none at all.
pub fn client_credentials(
    authorization: Option<&str>,
    params: &Params,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let in_form = params.get("client_secret").is_some();
    match authorization {
        Some(value) => {
            if in_form {
                return Err(invalid_request(
                    "more than one client authentication method",
                ));
            }
            let bad = || {
                OAuthError::new(
                    OAuthErrorCode::InvalidClient,
                    "client authentication failed",
                )
            };
            let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(bad)?;
            if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 2 * MAX_PARAMETER_LEN {
                return Err(bad());
            }
            let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (id, secret) = text.split_once(':').ok_or_else(bad)?;
            // §2.3.1: each is form-urlencoded before it is joined.
            let id = form_decode(id).ok_or_else(bad)?;
            let secret = form_decode(secret).ok_or_else(bad)?;
            if params.get("client_id").is_some_and(|form_id| form_id != id) {
                return Err(invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(Some(ClientCredentials {
                client_id: id,
                secret,
                method: AuthMethod::ClientSecretBasic,
            }))
        }
        None if in_form => Ok(Some(ClientCredentials {
            client_id: params.require("client_id")?.to_owned(),
            secret: params.require("client_secret")?.to_owned(),
            method: AuthMethod::ClientSecretPost,
        })),
        None => Ok(None),
    }
}

fn form_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = url_decode_pairs(&format!("v={s}"))?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// `application/x-www-form-urlencoded` into pairs (`+` is a space, `%XX` a
/// byte), refusing invalid UTF-8 and broken escapes rather than guessing.
pub fn url_decode_pairs(body: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(name)?, percent_decode(value)?));
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A set of scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII
/// but `"` and `\`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    pub fn parse(text: &str) -> Result<Scopes, OAuthError> {
        let bad = || OAuthError::new(OAuthErrorCode::InvalidScope, "the scope is malformed");
        let mut set = BTreeSet::new();
        for token in text.split(' ') {
            let valid = !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err(bad());
            }
            set.insert(token.to_owned());
        }
        Ok(Scopes(set))
    }

    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Scopes {
        Scopes(names.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_subset(&self, of: &Scopes) -> bool {
        self.0.is_subset(&of.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

/// The grant types a client may be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        Self::ClientCredentials,
        Self::AuthorizationCode,
        Self::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(name: &str) -> Option<GrantType> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// What the grant needs to know of an authenticated client.
pub struct GrantingClient<'a> {
    pub is_confidential: bool,
    pub grants: &'a [GrantType],
    pub scopes: &'a Scopes,
}

/// The scopes a `client_credentials` grant issues (RFC 6749 §4.4): the ones
/// asked for if the client has them all, else `invalid_scope`; all the
/// client's when none are asked for (§3.3's documented default).
pub fn grant_client_credentials(
    client: &GrantingClient<'_>,
    params: &Params,
) -> Result<Scopes, OAuthError> {
    // §4.4: only confidential clients may use this grant.
    if !client.is_confidential || !client.grants.contains(&GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "the client may not use this grant type",
        ));
    }
    let scopes = match params.get("scope") {
        Some(text) => Scopes::parse(text)?,
        None => client.scopes.clone(),
    };
    if !scopes.is_subset(client.scopes) {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "the client may not ask for that scope",
        ));
    }
    if scopes.is_empty() {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "the client has no scope",
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests;
