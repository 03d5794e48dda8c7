//! What a call acts on, decided once, before authorization (AZ-12): the item a
//! route's path names is parsed into its canonical form, described with its
//! stored attributes for the policies, and handed to the handler parsed, so the
//! guard authorizes exactly what the handler then acts on. A mint's requested
//! role is read from its body for the same reason.

use axum::body::Body;
use axum::extract::Request;
use gatehouse_authz::{Action, AttrValue, Target};
use gatehouse_types::ErrorCode;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiFailure;

/// The item a route names, parsed; handlers read it with [`super::PathItem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    ApiToken(Uuid),
    PolicyVersion(u64),
    /// An OAuth client: its id is a UUID, so it has one canonical spelling too.
    Client(Uuid),
    /// A user (ID-3), by UUID.
    User(Uuid),
    /// A user type (and its registration flow), by name.
    UserType(TypeName),
    /// A person's session, by UUID.
    Session(Uuid),
    /// A request, by its request id (the blocked log's "why").
    Request(RequestKey),
}

/// A request id as a path names it: 1 to 64 of `A-Z a-z 0-9 - _`, so it is
/// `Copy` and has one spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKey {
    bytes: [u8; 64],
    len: usize,
}

impl RequestKey {
    fn parse(text: &str) -> Option<RequestKey> {
        let b = text.as_bytes();
        let is_valid = !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_');
        if !is_valid {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..b.len()].copy_from_slice(b);
        Some(RequestKey {
            bytes,
            len: b.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// A user type's name as a path names it: `[a-z][a-z0-9_]*`, at most 32
/// bytes, so it is `Copy` and has one spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeName {
    bytes: [u8; 32],
    len: usize,
}

impl TypeName {
    fn parse(text: &str) -> Option<TypeName> {
        let b = text.as_bytes();
        let is_valid = !b.is_empty()
            && b.len() <= 32
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
        if !is_valid {
            return None;
        }
        let mut bytes = [0u8; 32];
        bytes[..b.len()].copy_from_slice(b);
        Some(TypeName {
            bytes,
            len: b.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// The item in `path`, at the placeholder of the matched `pattern`
/// (`{id}` in `/v1/api-tokens/{id}`), as written.
pub fn raw_item<'a>(pattern: &str, path: &'a str) -> Option<&'a str> {
    pattern
        .split('/')
        .zip(path.split('/'))
        .find(|(p, _)| p.starts_with('{') && p.ends_with('}'))
        .map(|(_, v)| v)
}

/// Parses the item for the entity type `kind` acts on. Every spelling a parser
/// accepts (`{…}`, `urn:uuid:`, upper case, bare hex; `007`) becomes the one
/// canonical id, and that id is what policies see.
pub fn parse(kind: &str, raw: &str) -> Result<Item, ApiFailure> {
    let decoded = percent_decoded(raw)
        .ok_or_else(|| ApiFailure::new(ErrorCode::InvalidParameter, "invalid path parameter"))?;
    match kind {
        "ApiToken" => Uuid::parse_str(&decoded)
            .map(Item::ApiToken)
            .map_err(|_| ApiFailure::new(ErrorCode::InvalidParameter, "token id must be a UUID")),
        "Client" => Uuid::parse_str(&decoded)
            .map(Item::Client)
            .map_err(|_| ApiFailure::new(ErrorCode::InvalidParameter, "client id must be a UUID")),
        "UserType" => TypeName::parse(&decoded)
            .map(Item::UserType)
            .ok_or_else(|| {
                ApiFailure::new(
                    ErrorCode::InvalidParameter,
                    "a user type's name is 1 to 32 of a-z, 0-9 and _, starting with a letter",
                )
            }),
        "Session" => Uuid::parse_str(&decoded)
            .map(Item::Session)
            .map_err(|_| ApiFailure::new(ErrorCode::InvalidParameter, "session id must be a UUID")),
        "BlockedRequest" => RequestKey::parse(&decoded)
            .map(Item::Request)
            .ok_or_else(|| {
                ApiFailure::new(
                    ErrorCode::InvalidParameter,
                    "a request id is 1 to 64 of A-Z, a-z, 0-9, - and _",
                )
            }),
        "User" => Uuid::parse_str(&decoded)
            .map(Item::User)
            .map_err(|_| ApiFailure::new(ErrorCode::InvalidParameter, "user id must be a UUID")),
        "PolicyVersion" => decoded
            .parse::<u64>()
            .ok()
            .filter(|v| *v >= 1)
            .map(Item::PolicyVersion)
            .ok_or_else(|| {
                ApiFailure::new(
                    ErrorCode::InvalidParameter,
                    "version must be a version number (1 or more)",
                )
            }),
        // A route naming an item of a type no route has described yet: deny by
        // default rather than authorize an id nobody parsed.
        _ => Err(ApiFailure::forbidden()),
    }
}

/// The path segment as the router decoded it (`%7B` is `{`).
fn percent_decoded(raw: &str) -> Option<String> {
    percent_decode(raw.as_bytes()).and_then(|b| String::from_utf8(b).ok())
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The item as the policies see it: its canonical id and, if it exists, its
/// attributes and parents as the schema declares them.
pub async fn describe(state: &AppState, item: Item) -> Result<Target, ApiFailure> {
    Ok(match item {
        Item::ApiToken(id) => {
            let row = state.store.api_tokens().find(id).await?;
            Target {
                id: id.to_string(),
                parents: row
                    .as_ref()
                    .map(|r| vec![("Role", r.role.clone())])
                    .unwrap_or_default(),
                attributes: row.map(|r| {
                    vec![
                        ("name", AttrValue::String(r.name)),
                        ("role", AttrValue::String(r.role)),
                    ]
                }),
            }
        }
        Item::Client(id) => {
            let row = state.store.clients().find(&id.to_string()).await?;
            Target {
                id: id.to_string(),
                parents: row
                    .as_ref()
                    .map(|r| vec![("Role", r.role.clone())])
                    .unwrap_or_default(),
                attributes: row.map(|r| {
                    vec![
                        ("name", AttrValue::String(r.name)),
                        ("is_confidential", AttrValue::Bool(r.is_confidential)),
                        ("role", AttrValue::String(r.role)),
                        (
                            "scopes",
                            AttrValue::Set(
                                r.scopes
                                    .split(' ')
                                    .filter(|s| !s.is_empty())
                                    .map(str::to_owned)
                                    .collect(),
                            ),
                        ),
                    ]
                }),
            }
        }
        Item::User(id) => {
            let row = state.store.users().find(&id.to_string()).await?;
            let now_us = crate::clock::to_micros(state.clock.now());
            Target {
                id: id.to_string(),
                parents: row
                    .as_ref()
                    .map(|r| vec![("UserType", r.user_type.clone())])
                    .unwrap_or_default(),
                attributes: row.map(|r| crate::users::entity_attributes(&r, now_us)),
            }
        }
        Item::Session(id) => {
            let row = state.store.sessions().find_session(&id.to_string()).await?;
            Target {
                id: id.to_string(),
                parents: row
                    .as_ref()
                    .map(|r| vec![("User", r.user_id.clone())])
                    .unwrap_or_default(),
                attributes: row.map(|r| {
                    vec![
                        ("user_id", AttrValue::String(r.user_id)),
                        ("is_open", AttrValue::Bool(r.ended_at_us.is_none())),
                    ]
                }),
            }
        }
        Item::UserType(name) => {
            let row = state.store.user_types().find_type(name.as_str()).await?;
            Target {
                id: name.as_str().to_owned(),
                parents: Vec::new(),
                attributes: row.map(|_| Vec::new()),
            }
        }
        // The policies see the request's id; the handler reads its record.
        Item::Request(key) => Target {
            id: key.as_str().to_owned(),
            parents: Vec::new(),
            attributes: None,
        },
        Item::PolicyVersion(n) => {
            let row = state.store.policies().find(n).await?;
            Target {
                id: n.to_string(),
                parents: vec![("PolicyStore", "policies".to_owned())],
                attributes: row.map(|r| {
                    vec![
                        ("version", AttrValue::Long(r.version)),
                        ("author", AttrValue::String(r.author)),
                    ]
                }),
            }
        }
    })
}

/// For a mint, the role the body asks for: the body is read here (within the
/// body limit) and put back for the handler, which parses it fully. A body that
/// names no role asks for none, which only an administrator may be granted
/// (the handler then refuses the body).
pub async fn requested_role(
    action: Action,
    request: Request,
    limit: usize,
) -> Result<(Request, Option<String>), ApiFailure> {
    if !action.asks_for_role() {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(body_failure)?;
    let role = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("role").and_then(|r| r.as_str()).map(str::to_owned))
        .unwrap_or_default();
    Ok((Request::from_parts(parts, Body::from(bytes)), Some(role)))
}

fn body_failure(e: axum::Error) -> ApiFailure {
    let is_too_large =
        std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
    if is_too_large {
        ApiFailure::new(
            ErrorCode::PayloadTooLarge,
            "request body is larger than the limit",
        )
    } else {
        ApiFailure::new(ErrorCode::BadRequest, "request body could not be read")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_item_comes_from_the_placeholder() {
        assert_eq!(
            raw_item("/v1/api-tokens/{id}", "/v1/api-tokens/abc"),
            Some("abc")
        );
        assert_eq!(raw_item("/v1/audit/events", "/v1/audit/events"), None);
    }

    // proves: AZ-12
    #[test]
    fn every_spelling_of_an_id_is_one_item() {
        let canonical = "0190a5f4-1c2d-7e3f-8a4b-5c6d7e8f9a0b";
        let id = Uuid::parse_str(canonical).unwrap();
        for spelling in [
            canonical,
            "0190A5F4-1C2D-7E3F-8A4B-5C6D7E8F9A0B",
            "%7B0190a5f4-1c2d-7e3f-8a4b-5c6d7e8f9a0b%7D",
            "urn:uuid:0190a5f4-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
            "0190a5f41c2d7e3f8a4b5c6d7e8f9a0b",
            "%30190a5f4-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
        ] {
            assert_eq!(parse("ApiToken", spelling).unwrap(), Item::ApiToken(id));
        }
        assert_eq!(
            parse("PolicyVersion", "007").unwrap(),
            Item::PolicyVersion(7)
        );
        assert_eq!(
            parse("PolicyVersion", "+7").unwrap(),
            Item::PolicyVersion(7)
        );
        assert!(parse("PolicyVersion", "0").is_err());
        assert!(parse("ApiToken", "not-a-uuid").is_err());
        assert!(parse("ApiToken", "%zz").is_err());
        // A user type has one spelling (percent-decoded, as every path is);
        // anything else is refused, never folded.
        let name = TypeName::parse("clinician").unwrap();
        assert_eq!(
            parse("UserType", "clinician").unwrap(),
            Item::UserType(name)
        );
        assert_eq!(
            parse("UserType", "clin%69cian").unwrap(),
            Item::UserType(name)
        );
        for other in [
            "Clinician",
            "CLINICIAN",
            "1st",
            "",
            "a-b",
            "a%00",
            &"a".repeat(33),
        ] {
            assert!(parse("UserType", other).is_err(), "{other}");
        }
        assert_eq!(
            parse("User", "x").unwrap_err().code,
            ErrorCode::InvalidParameter
        );
        // An item of a type no route describes is denied by default.
        assert_eq!(parse("Group", "x").unwrap_err().code, ErrorCode::Forbidden);
    }
}
