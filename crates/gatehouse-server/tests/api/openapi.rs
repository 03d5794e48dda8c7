//! `GET /v1/openapi.json`: the API's own document, for those the policies permit
//! `api.describe`; and the query parameters it documents are the routes' own.

use std::collections::BTreeSet;

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{ErrorCode, Role};
use serde_json::Value;

use crate::assert_error;

async fn administrators_and_auditors_read_the_document(db: Db) {
    let server = TestServer::start(db).await;
    let auditor = server.mint(Role::Auditor).await;
    let service = server.mint(Role::Service).await;
    let url = server.url("/v1/openapi.json");
    for token in [&server.admin_token, &auditor] {
        let response = server
            .raw()
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        let text = response.text().await.unwrap();
        assert_eq!(text, gatehouse_server::openapi::document_json().unwrap());
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        assert!(doc["paths"]["/v1/openapi.json"]["get"].is_object());
    }
    let anonymous = server.raw().get(&url).send().await.unwrap();
    assert_error(anonymous, 401, ErrorCode::Unauthenticated).await;
    // Services report events and ask for decisions; nothing else by default.
    let denied = server
        .raw()
        .get(&url)
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    assert_error(denied, 403, ErrorCode::Forbidden).await;
}

/// Query parameters a route's query struct knows but the route refuses (they
/// belong to its sibling route), which the document leaves out.
const REFUSED: [(&str, &str); 3] = [
    ("/v1/audit/events", "format"),
    ("/v1/audit/export", "limit"),
    ("/v1/audit/export", "cursor"),
];

/// The names a route lists when it refuses an unknown parameter: a
/// `deny_unknown_fields` struct's "expected `a`, `b`", or the audit query's
/// "… is not a parameter of the audit trail: use a, b or c".
fn known_names(message: &str) -> BTreeSet<String> {
    if let Some((_, expected)) = message.split_once("expected") {
        return expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
    }
    let Some((_, listed)) = message.split_once(": use ") else {
        return BTreeSet::new();
    };
    listed
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The document's query parameters of each GET route are exactly those its
/// query struct knows, less the ones it refuses: an unknown parameter is
/// refused with the struct's own list of the known ones.
async fn documented_query_parameters_are_the_routes_own(db: Db) {
    let server = TestServer::start(db).await;
    let doc = serde_json::to_value(gatehouse_server::openapi::document()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        // RFC 6749 §3.1: the authorization endpoint MUST ignore parameters it
        // does not know (they are the client's, not the API's).
        if path == "/oauth2/authorize" {
            continue;
        }
        let documented: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let concrete = path
            .replace("{n}", "1")
            .replace("{name}", "clinician")
            .replace("{user_type}", "clinician")
            .replace("{request_id}", "req-1")
            .replace("{id}", &uuid::Uuid::new_v4().to_string());
        let url = server.url(&format!("{concrete}?zz_unknown=1"));
        let response = server
            .raw()
            .get(&url)
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        if response.status().as_u16() != 400 {
            assert!(
                documented.is_empty(),
                "{path} ignores unknown parameters but documents {documented:?}"
            );
            continue;
        }
        let error = assert_error(response, 400, ErrorCode::InvalidParameter).await;
        assert!(
            error.message.contains("`zz_unknown`")
                || error.message.starts_with("zz_unknown is not a parameter"),
            "{path}: {}",
            error.message
        );
        let mut known: BTreeSet<String> = known_names(&error.message)
            .into_iter()
            .filter(|name| !REFUSED.contains(&(path.as_str(), name.as_str())))
            .collect();
        // The export takes `format` aside before it reads the audit query.
        if path == "/v1/audit/export" {
            known.insert("format".into());
        }
        assert_eq!(documented, known, "{path}'s documented query parameters");
        checked += 1;
    }
    // audit events/export/stream, blocked list/summary, policy versions/diff/matrix,
    // users and their export.
    assert_eq!(checked, 10);
}

on_both_databases!(
    administrators_and_auditors_read_the_document,
    documented_query_parameters_are_the_routes_own,
);
