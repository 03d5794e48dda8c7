//! The error responses: one reusable response per status the server answers
//! errors with (the one shape, naming the codes of that status), and on every
//! operation the ones its shape makes possible.

use std::collections::BTreeSet;

use gatehouse_types::ErrorCode;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Object, OpenApi, Ref, RefOr, ResponseBuilder, Type};

/// The reusable response of an error status: `Error401`.
pub fn response_name(status: u16) -> String {
    format!("Error{status}")
}

/// The codes the server answers with at `status`.
pub fn codes_of(status: u16) -> Vec<ErrorCode> {
    ErrorCode::ALL
        .into_iter()
        .filter(|c| c.is_sent_by_server() && c.status() == status)
        .collect()
}

/// Every status the server answers errors with.
pub fn statuses() -> BTreeSet<u16> {
    ErrorCode::ALL
        .into_iter()
        .filter(|c| c.is_sent_by_server())
        .map(ErrorCode::status)
        .collect()
}

fn description(status: u16) -> String {
    let codes: Vec<String> = codes_of(status)
        .into_iter()
        .map(|c| format!("`{c}`"))
        .collect();
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut text = format!(
        "{reason}: an `ApiError` whose `code` is {}",
        codes.join(" or ")
    );
    if status == 429 {
        text.push_str("; retry after the `Retry-After` header's seconds");
    }
    text
}

/// The statuses an operation can answer errors with: any request can be limited
/// or fail inside; a private one can be unauthenticated, forbidden, or meet an
/// unavailable database; parameters can be invalid, and a body can be malformed,
/// slow, too large, of the wrong type or not acceptable. Route-specific ones (404,
/// 409) are in the operation's own declaration.
fn statuses_of(op: &Operation) -> Vec<u16> {
    let mut statuses = vec![429, 500];
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        statuses.extend([401, 403, 503]);
    }
    if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        statuses.push(400);
    }
    if op.request_body.is_some() {
        statuses.extend([400, 408, 413, 415, 422]);
    }
    statuses
}

/// Adds the reusable error responses, and refers every operation to its own.
pub fn add(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for status in statuses() {
        let mut response = ResponseBuilder::new()
            .description(description(status))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ApiError")))
                    .build(),
            );
        if status == 429 {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Object::with_type(Type::Integer))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            );
        }
        components
            .responses
            .insert(response_name(status), RefOr::T(response.build()));
    }
    for item in api.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for status in statuses_of(op) {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(response_name(status))));
            }
        }
    }
}
