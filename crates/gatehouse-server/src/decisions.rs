//! Answers from the active policies that are not a route's own authorization:
//! batches of decisions for other services (AZ-4) and the permissions matrix
//! (AZ-9). The routes in `routes/policies.rs` only parse, call these and answer.

use gatehouse_authz::{check_request, matrix, Action};
use gatehouse_types::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, DecisionRequest, ErrorCode, IngestError,
    PolicyMatrixResponse, MAX_DECISION_BATCH,
};
use serde_json::{json, Value};

use crate::auth::{principal_of_claims, Authenticator};
use crate::authz::Policies;
use crate::error::ApiFailure;

/// A batch of decisions; a request that cannot be asked gets its own error and
/// the rest are still answered. Also says how many were allowed.
pub fn decide_batch(
    policies: &Policies,
    auth: &Authenticator,
    request: AuthorizeRequest,
) -> Result<(AuthorizeResponse, u32), ApiFailure> {
    if request.requests.is_empty() || request.requests.len() > MAX_DECISION_BATCH {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!("requests must hold 1 to {MAX_DECISION_BATCH} requests"),
        ));
    }
    let active = policies.current();
    let catalog = policies.catalog();
    let mut allowed = 0u32;
    let results: Vec<AuthorizeResult> = request
        .requests
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let asked = with_token_principal(auth, value)
                .and_then(|value| {
                    serde_path_to_error::deserialize::<_, DecisionRequest>(value).map_err(|e| {
                        IngestError {
                            code: ErrorCode::InvalidBody,
                            message: format!("{}: {}", e.path(), e.inner()),
                        }
                    })
                })
                .and_then(|r| {
                    check_request(&catalog, &r).map_err(|e| IngestError {
                        code: ErrorCode::ValidationFailed,
                        message: e.to_string(),
                    })
                });
            match asked {
                Ok(prepared) => {
                    let d = active.engine.decide(&prepared);
                    allowed += u32::from(d.is_allowed);
                    AuthorizeResult {
                        index,
                        result: Some(d.into()),
                        error: None,
                    }
                }
                Err(error) => AuthorizeResult {
                    index,
                    result: None,
                    error: Some(error),
                },
            }
        })
        .collect();
    let response = AuthorizeResponse {
        version: active.version(),
        results,
    };
    Ok((response, allowed))
}

/// A request may name its principal by an access token instead
/// (`"principal_token": "<jwt>"`, AZ-4): "may this token's subject do X to
/// Y". The token is verified as on any private request; its subject becomes
/// the principal entity, with its role and the token's scopes.
fn with_token_principal(auth: &Authenticator, mut value: Value) -> Result<Value, IngestError> {
    let Some(object) = value.as_object_mut() else {
        return Ok(value);
    };
    let Some(token) = object.remove("principal_token") else {
        return Ok(value);
    };
    let refused = || IngestError {
        code: ErrorCode::InvalidToken,
        message: "invalid or expired token".into(),
    };
    if object.contains_key("principal") {
        return Err(IngestError {
            code: ErrorCode::InvalidBody,
            message: "give principal or principal_token, not both".into(),
        });
    }
    let token = token.as_str().ok_or_else(refused)?;
    let claims = auth.verify_jwt(token).map_err(|_| refused())?;
    let principal = principal_of_claims(&claims).map_err(|_| refused())?;
    let grant = principal.client_grant().ok_or_else(refused)?;
    object.insert(
        "principal".into(),
        json!({
            "type": "Client",
            "id": grant.client_id,
            "attributes": {
                "name": principal.name,
                "is_confidential": true,
                "role": principal.role.as_str(),
                "scopes": grant.scopes,
            },
            "parents": [{"type": "Role", "id": principal.role.as_str()}],
        }),
    );
    Ok(value)
}

/// Role × action from the live policies.
pub fn permissions_matrix(policies: &Policies) -> PolicyMatrixResponse {
    let active = policies.current();
    let catalog = policies.catalog();
    let roles = matrix::roles(&active.engine);
    let actions: Vec<Action> = Action::ALL.to_vec();
    let cells: Vec<Vec<_>> = roles
        .iter()
        .map(|r| {
            actions
                .iter()
                .map(|a| matrix::cell(&catalog, &active.engine, r, *a))
                .collect()
        })
        .collect();
    PolicyMatrixResponse {
        version: active.version(),
        roles,
        actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
        cells,
    }
}

/// The matrix as CSV: a row per action, a column per role, each cell `deny` or
/// `allow (policies)`.
pub fn matrix_csv(m: &PolicyMatrixResponse) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut header = vec!["action".to_owned()];
    header.extend(m.roles.iter().cloned());
    gatehouse_audit::csv::write_row(&mut out, &header)?;
    for (a, action) in m.actions.iter().enumerate() {
        let mut row = vec![action.clone()];
        for r in 0..m.roles.len() {
            let cell = m.cells.get(r).and_then(|c| c.get(a));
            row.push(match cell {
                Some(c) if c.is_allowed => format!("allow ({})", c.policies.join(" ")),
                _ => "deny".to_owned(),
            });
        }
        gatehouse_audit::csv::write_row(&mut out, &row)?;
    }
    Ok(out)
}
