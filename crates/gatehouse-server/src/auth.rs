//! Who is calling (TK-3, SWR-004): the pipeline's authentication, for every
//! private request. A bearer credential is either an opaque API token (looked
//! up by its hash) or a JWT access token, verified against this server's own
//! key set in memory, then checked against the revocations every replica
//! learns within a second. Every failure answers the same `invalid_token`; the
//! audit record says which check failed.

use std::sync::Arc;

use gatehouse_store::Store;
use gatehouse_tokens::{AccessClaims, Rejection, SubjectKind};
use gatehouse_types::Role;
use http::{header, HeaderMap};

use crate::clock::Clock;
use crate::error::ApiFailure;
use crate::pipeline::{ClientGrant, Principal, PrincipalKind, UserGrant};
use crate::signing::KeyRing;
use crate::token_state::TokenState;
use crate::tokens;

/// A refused credential: the one answer, and why (for the record only).
#[derive(Debug)]
pub struct Refused {
    pub failure: ApiFailure,
    pub reason: Option<&'static str>,
}

impl From<ApiFailure> for Refused {
    fn from(failure: ApiFailure) -> Self {
        Refused {
            failure,
            reason: None,
        }
    }
}

fn refused(reason: &'static str) -> Refused {
    Refused {
        failure: ApiFailure::invalid_token(),
        reason: Some(reason),
    }
}

/// Authenticates callers; shared by the guard, the live tail's re-checks and
/// the decision API.
pub struct Authenticator {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<KeyRing>,
    pub state: Arc<TokenState>,
}

/// Whether a bearer value is shaped like a JWT (three base64url parts) rather
/// than an API token (`gh_…`).
fn looks_like_jwt(value: &str) -> bool {
    // API tokens are `gh_` and base64url: never a dot.
    value.contains('.')
}

impl Authenticator {
    /// The caller behind the request's bearer credential. A missing header is
    /// `unauthenticated`; everything else that fails is `invalid_token`.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Refused> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(if headers.contains_key(header::AUTHORIZATION) {
                refused("authorization_header_repeated")
            } else {
                ApiFailure::unauthenticated().into()
            });
        };
        let credential = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| refused("authorization_header_malformed"))?;
        if looks_like_jwt(credential) {
            let claims = self
                .verify_jwt(credential)
                .map_err(|r| refused(r.as_str()))?;
            if claims.sub_kind == SubjectKind::User {
                return self.principal_of_user(&claims).await;
            }
            principal_of_claims(&claims).map_err(|r| refused(r.as_str()))
        } else {
            tokens::find_active(self.store.as_ref(), self.clock.as_ref(), credential)
                .await
                .map_err(|failure| Refused {
                    failure,
                    reason: Some("api_token_unknown_expired_or_revoked"),
                })
        }
    }

    /// Verifies an access token: signature with the key its `kid` names (the
    /// algorithm that key is pinned to), claims at the server's time, and
    /// revocation.
    pub fn verify_jwt(&self, token: &str) -> Result<AccessClaims, Rejection> {
        let now_s = self.clock.now().timestamp();
        let set = self.keys.current();
        let claims = set.verifier.verify(token, now_s)?;
        let is_revoked = match (claims.sub_kind, claims.sid.as_deref()) {
            (SubjectKind::User, Some(sid)) => {
                self.state
                    .is_user_token_revoked(&claims.jti, sid, &claims.sub, claims.iat)
                    // A client's token for a person also ends with the client.
                    || (claims.client_id != crate::sessions::FIRST_PARTY_CLIENT
                        && self
                            .state
                            .is_revoked(&claims.jti, &claims.client_id, claims.iat))
            }
            // A person's token names its session; one that does not is not ours.
            (SubjectKind::User, None) => return Err(Rejection::Claims),
            (SubjectKind::Client, _) => {
                self.state
                    .is_revoked(&claims.jti, &claims.client_id, claims.iat)
            }
        };
        if is_revoked {
            return Err(Rejection::Revoked);
        }
        Ok(claims)
    }

    /// A person's principal: the token verified, the user read now (a user
    /// locked, disabled or no longer there is refused whatever the token says).
    async fn principal_of_user(&self, claims: &AccessClaims) -> Result<Principal, Refused> {
        let row = self
            .store
            .users()
            .find(&claims.sub)
            .await
            .map_err(|e| Refused::from(ApiFailure::from(e)))?
            .ok_or_else(|| refused("user_unknown"))?;
        let now_us = crate::clock::to_micros(self.clock.now());
        let is_locked = row.locked_until_us.is_some_and(|until| until > now_us);
        if row.status != "active" || is_locked {
            return Err(refused("user_not_active"));
        }
        let role = claims
            .role
            .as_deref()
            .and_then(|r| r.parse::<Role>().ok())
            .ok_or_else(|| refused("bad_claims"))?;
        Ok(Principal {
            name: row.display_name.clone(),
            role,
            kind: PrincipalKind::User(Box::new(UserGrant {
                user_id: row.id.clone(),
                session_id: claims.sid.clone().unwrap_or_default(),
                scopes: (claims.client_id != crate::sessions::FIRST_PARTY_CLIENT).then(|| {
                    claims
                        .scope
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                }),
                jti: claims.jti.clone(),
                user_type: row.user_type.clone(),
                attributes: crate::users::entity_attributes(&row, now_us),
                issued_at: claims.iat,
                expires_at: claims.exp,
            })),
        })
    }

    /// Whether `principal` may still act: its API token unexpired and not
    /// revoked, or its access token unexpired and not revoked. Long-lived
    /// requests (the live tail) ask again every few seconds.
    pub async fn recheck(&self, principal: &Principal) -> Result<Principal, ApiFailure> {
        match &principal.kind {
            PrincipalKind::ApiToken(id) => {
                tokens::find_active_by_id(self.store.as_ref(), self.clock.as_ref(), *id).await
            }
            PrincipalKind::User(grant) => {
                let now_s = self.clock.now().timestamp();
                let skew = self.keys.current().verifier.skew();
                let is_live = now_s < grant.expires_at.saturating_add(skew)
                    && !self.state.is_user_token_revoked(
                        &grant.jti,
                        &grant.session_id,
                        &grant.user_id,
                        grant.issued_at,
                    );
                let is_active = self
                    .store
                    .users()
                    .find(&grant.user_id)
                    .await?
                    .is_some_and(|u| u.status == "active");
                if is_live && is_active {
                    Ok(principal.clone())
                } else {
                    Err(ApiFailure::invalid_token())
                }
            }
            PrincipalKind::Client(grant) => {
                let now_s = self.clock.now().timestamp();
                let skew = self.keys.current().verifier.skew();
                let is_live = now_s < grant.expires_at.saturating_add(skew)
                    && !self
                        .state
                        .is_revoked(&grant.jti, &grant.client_id, grant.issued_at);
                if is_live {
                    Ok(principal.clone())
                } else {
                    Err(ApiFailure::invalid_token())
                }
            }
        }
    }
}

/// The principal an access token stands for: for now an OAuth client acting
/// for itself (people sign in with the identity issue's tokens).
pub fn principal_of_claims(claims: &AccessClaims) -> Result<Principal, Rejection> {
    if claims.sub_kind != SubjectKind::Client || claims.sub != claims.client_id {
        return Err(Rejection::Claims);
    }
    let role = claims
        .role
        .as_deref()
        .and_then(|r| r.parse::<Role>().ok())
        .ok_or(Rejection::Claims)?;
    Ok(Principal {
        name: claims.name.clone(),
        role,
        kind: PrincipalKind::Client(Box::new(ClientGrant {
            client_id: claims.client_id.clone(),
            jti: claims.jti.clone(),
            scopes: claims
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            issued_at: claims.iat,
            expires_at: claims.exp,
        })),
    })
}
