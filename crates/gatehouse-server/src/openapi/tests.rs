#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use gatehouse_types::ErrorCode;
use serde_json::{json, Value};

use crate::routes::{self, Access};

fn document() -> Value {
    serde_json::to_value(super::document()).unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Every operation: (method, path, its `x-gatehouse-action`, its security).
fn operations(doc: &Value) -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((
                    method.to_uppercase(),
                    path.clone(),
                    op["x-gatehouse-action"].as_str().unwrap_or("").to_owned(),
                    op.get("security").cloned().unwrap_or(Value::Null),
                ));
            }
        }
    }
    out
}

/// The route table and the document cannot disagree: the same methods and
/// paths, each with the same action, bearer on every private route and no
/// security on the public ones.
#[test]
fn the_document_has_exactly_the_routes_of_the_table() {
    let (_, table) = routes::build();
    let doc = document();
    let from_table: BTreeSet<(String, String, String, bool)> = table
        .entries()
        .iter()
        .map(|e| {
            let (action, is_private) = match e.access {
                Access::Public(name) => (name.to_owned(), false),
                Access::Private(action) => (action.as_str().to_owned(), true),
            };
            (e.method.to_string(), e.path.to_owned(), action, is_private)
        })
        .collect();
    assert_eq!(from_table.len(), table.entries().len(), "no route twice");
    let ops = operations(&doc);
    let mut from_doc = BTreeSet::new();
    for (method, path, action, security) in &ops {
        let is_private = match security {
            Value::Null => false,
            s if *s == json!([{ super::BEARER: [] }]) => true,
            other => panic!("{method} {path}: security must be bearer or none: {other}"),
        };
        from_doc.insert((method.clone(), path.clone(), action.clone(), is_private));
    }
    assert_eq!(from_doc.len(), ops.len());
    let missing: Vec<_> = from_table.difference(&from_doc).collect();
    let extra: Vec<_> = from_doc.difference(&from_table).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes the document lacks (or describes otherwise): {missing:?}\noperations no route serves: {extra:?}"
    );
    assert!(from_doc.iter().any(|r| !r.3) && from_doc.iter().any(|r| r.3));
    assert_eq!(
        doc["components"]["securitySchemes"][super::BEARER],
        json!({"type": "http", "scheme": "bearer", "description": "An API token (`gh_...`; `gatehouse init` prints the first one), or an access token from `/oauth2/token`."})
    );
    assert!(doc.get("security").is_none(), "no global security");
}

fn refers_to_api_error(doc: &Value, response: &Value) -> bool {
    refers_to(doc, response, "ApiError")
}

fn refers_to(doc: &Value, response: &Value, schema: &str) -> bool {
    let response = match response["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/responses/").unwrap();
            &doc["components"]["responses"][name]
        }
        None => response,
    };
    let content = response["content"].as_object().unwrap();
    content.len() == 1
        && content["application/json"]["schema"]["$ref"] == format!("#/components/schemas/{schema}")
}

/// Every error code is in the document: all values of `ErrorCode`, the error
/// shape as the body of every error status, and each code the server sends
/// named by the response of its status.
#[test]
fn every_error_code_and_status_is_described_in_the_one_shape() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let schemas = &doc["components"]["schemas"];
    let values: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(values, all);
    assert_eq!(
        schemas["ApiError"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
    let responses = &doc["components"]["responses"];
    for code in ErrorCode::ALL.into_iter().filter(|c| c.is_sent_by_server()) {
        let name = super::errors::response_name(code.status());
        let response = &responses[&name];
        assert!(refers_to_api_error(&doc, response), "{name}");
        let description = response["description"].as_str().unwrap();
        assert!(description.contains(&format!("`{code}`")), "{description}");
    }
    assert!(responses["Error429"]["headers"]["Retry-After"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let statuses = op["responses"].as_object().unwrap();
            for (status, response) in statuses {
                let n: u16 = status.parse().unwrap();
                let is_page = path == "/oauth2/authorize";
                // The hosted sign-in page answers a person's browser: a page,
                // or a redirect back to the client.
                if is_page && (n == 303 || n == 400) {
                    continue;
                }
                // The OAuth endpoints answer their own errors in RFC 6749's
                // shape (userinfo is a private route, in the one shape).
                if path.starts_with("/oauth2/")
                    && path != "/oauth2/userinfo"
                    && (n == 400 || n == 401)
                {
                    assert!(
                        refers_to(&doc, response, "OAuthErrorResponse"),
                        "{method} {path} {status}"
                    );
                } else if n >= 400 {
                    assert!(
                        refers_to_api_error(&doc, response),
                        "{method} {path} {status}"
                    );
                } else {
                    assert!((200..300).contains(&n), "{method} {path} {status}");
                }
            }
            let has = |s: &str| statuses.contains_key(s);
            assert!(has("429") && has("500"), "{method} {path}");
            let is_private = op.get("security").is_some();
            assert_eq!(has("401") && has("403"), is_private, "{method} {path}");
            if op.get("requestBody").is_some() {
                for s in ["400", "408", "413", "415", "422"] {
                    assert!(has(s), "{method} {path} {s}");
                }
            }
        }
    }
}

/// The committed `docs/openapi.json` is the document the code generates;
/// `UPDATE_OPENAPI=1` (`make openapi`) rewrites it.
#[test]
fn the_committed_document_is_fresh() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let fresh = super::document_json().unwrap();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&committed, &fresh).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        have == fresh,
        "docs/openapi.json is stale: run `make openapi` (UPDATE_OPENAPI=1 cargo test -p gatehouse-server --lib openapi)"
    );
}
