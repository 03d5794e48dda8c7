//! Answers from the active policies that are not a route's own authorization:
//! batches of decisions for other services (AZ-4) and the permissions matrix
//! (AZ-9). The routes in `routes/policies.rs` only parse, call these and answer.

use gatehouse_authz::{check_request, matrix, Action};
use gatehouse_types::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, DecisionRequest, ErrorCode, IngestError,
    PolicyMatrixResponse, MAX_DECISION_BATCH,
};

use crate::authz::Policies;
use crate::error::ApiFailure;

/// A batch of decisions; a request that cannot be asked gets its own error and
/// the rest are still answered. Also says how many were allowed.
pub fn decide_batch(
    policies: &Policies,
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
            let asked = serde_path_to_error::deserialize::<_, DecisionRequest>(value)
                .map_err(|e| IngestError {
                    code: ErrorCode::InvalidBody,
                    message: format!("{}: {}", e.path(), e.inner()),
                })
                .and_then(|r| {
                    check_request(catalog, &r).map_err(|e| IngestError {
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
                .map(|a| matrix::cell(catalog, &active.engine, r, *a))
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
