//! Bad input: each kind gets its own code in the one error shape, never a 500.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;

use crate::assert_error;

async fn post_tokens(
    server: &TestServer,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = server
        .raw()
        .post(server.url("/v1/api-tokens"))
        .bearer_auth(&server.admin_token);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    request.body(body).send().await.unwrap()
}

async fn bad_bodies(db: Db) {
    let server = TestServer::start(db).await;
    let json = Some("application/json");
    let cases: Vec<(Option<&str>, &str, u16, ErrorCode)> = vec![
        (json, "{\"name\": ", 400, ErrorCode::MalformedJson),
        (json, "", 400, ErrorCode::MalformedJson),
        (
            json,
            "{\"name\":\"a\",\"role\":\"auditor\"} trailing",
            400,
            ErrorCode::MalformedJson,
        ),
        (json, "[1,2,3]", 422, ErrorCode::InvalidBody),
        (json, "{\"role\":\"auditor\"}", 422, ErrorCode::InvalidBody),
        (
            json,
            "{\"name\":\"a\",\"role\":\"root\"}",
            422,
            ErrorCode::InvalidBody,
        ),
        (
            json,
            "{\"name\":\"a\",\"role\":\"auditor\",\"is_admin\":true}",
            422,
            ErrorCode::InvalidBody,
        ),
        (
            json,
            "{\"name\":5,\"role\":\"auditor\"}",
            422,
            ErrorCode::InvalidBody,
        ),
        (
            json,
            "{\"name\":\"a\",\"role\":\"auditor\",\"expires_in_seconds\":-1}",
            422,
            ErrorCode::InvalidBody,
        ),
        (
            json,
            "{\"name\":\"\",\"role\":\"auditor\"}",
            422,
            ErrorCode::ValidationFailed,
        ),
        (
            json,
            "{\"name\":\"   \",\"role\":\"auditor\"}",
            422,
            ErrorCode::ValidationFailed,
        ),
        (
            json,
            "{\"name\":\"a\\u0007b\",\"role\":\"auditor\"}",
            422,
            ErrorCode::ValidationFailed,
        ),
        (
            json,
            "{\"name\":\"a\",\"role\":\"auditor\",\"expires_in_seconds\":5}",
            422,
            ErrorCode::ValidationFailed,
        ),
        (
            json,
            "{\"name\":\"a\",\"role\":\"auditor\",\"expires_in_seconds\":99999999999}",
            422,
            ErrorCode::ValidationFailed,
        ),
        (
            None,
            "{\"name\":\"a\",\"role\":\"auditor\"}",
            415,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            Some("text/plain"),
            "{\"name\":\"a\",\"role\":\"auditor\"}",
            415,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            Some("application/x-www-form-urlencoded"),
            "name=a&role=auditor",
            415,
            ErrorCode::UnsupportedMediaType,
        ),
    ];
    for (content_type, body, status, code) in cases {
        let response = post_tokens(&server, content_type, body.as_bytes().to_vec()).await;
        let error = assert_error(response, status, code).await;
        if code == ErrorCode::InvalidBody && body.contains("is_admin") {
            assert!(
                error.message.contains("is_admin"),
                "names the field: {}",
                error.message
            );
        }
    }
    let long_name = format!("{{\"name\":\"{}\",\"role\":\"auditor\"}}", "n".repeat(129));
    assert_error(
        post_tokens(&server, json, long_name.into_bytes()).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;
    // Nothing was minted by any of it: only the initial administrator exists.
    assert_eq!(server.client().list_api_tokens().await.unwrap().len(), 1);
}

async fn oversized_bodies(db: Db) {
    let server = TestServer::start_with(db, |c| c.max_body_bytes = 4096).await;
    // Declared too large: refused before the body is read.
    let big = vec![b' '; 5000];
    assert_error(
        post_tokens(&server, Some("application/json"), big.clone()).await,
        413,
        ErrorCode::PayloadTooLarge,
    )
    .await;
    // Streamed without a length: refused while reading.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big)]);
    let response = server
        .raw()
        .post(server.url("/v1/api-tokens"))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_error(response, 413, ErrorCode::PayloadTooLarge).await;
    // A body just under the limit is read and judged on its content.
    let mut fits = b"{\"name\":\"a\",\"role\":\"auditor\"}".to_vec();
    fits.resize(4000, b' ');
    let response = post_tokens(&server, Some("application/json"), fits).await;
    assert_eq!(response.status(), 201);
}

async fn unknown_routes_methods_and_parameters(db: Db) {
    let server = TestServer::start(db).await;
    let raw = server.raw();
    let admin = &server.admin_token;
    for path in [
        "/",
        "/v1",
        "/v1/nothing",
        "/v2/server",
        "/healthz/extra",
        "/v1/api-tokens/a/b",
        "/../etc/passwd",
    ] {
        let response = raw
            .get(server.url(path))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_error(response, 404, ErrorCode::NotFound).await;
    }
    // Unknown routes answer the same with no token at all.
    let response = raw.get(server.url("/v1/nothing")).send().await.unwrap();
    assert_error(response, 404, ErrorCode::NotFound).await;

    for (method, path) in [
        (reqwest::Method::POST, "/healthz"),
        (reqwest::Method::PUT, "/v1/api-tokens"),
        (reqwest::Method::DELETE, "/v1/server"),
        (
            reqwest::Method::PATCH,
            "/v1/api-tokens/00000000-0000-0000-0000-000000000000",
        ),
        (reqwest::Method::OPTIONS, "/v1/server"),
    ] {
        let response = raw
            .request(method.clone(), server.url(path))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        let allow = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_error(response, 405, ErrorCode::MethodNotAllowed).await;
        assert!(allow.is_some(), "{method} {path} names the allowed methods");
    }

    for id in [
        "not-a-uuid",
        "1",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
    ] {
        let response = raw
            .delete(server.url(&format!("/v1/api-tokens/{id}")))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_error(response, 400, ErrorCode::InvalidParameter).await;
    }
    let unknown = uuid::Uuid::new_v4();
    let response = raw
        .delete(server.url(&format!("/v1/api-tokens/{unknown}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_error(response, 404, ErrorCode::NotFound).await;
}

async fn head_requests_need_the_same_permission(db: Db) {
    let server = TestServer::start(db).await;
    let response = server
        .raw()
        .head(server.url("/v1/server"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = server
        .raw()
        .head(server.url("/v1/server"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn a_database_that_goes_away_is_unavailable_not_internal(db: Db) {
    let server = TestServer::start(db).await;
    server.store.close().await;
    let response = server
        .raw()
        .get(server.url("/v1/server"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_error(response, 503, ErrorCode::Unavailable).await;
    // Nothing is answered unrecorded: with no audit trail to write to, even the
    // health check fails closed (which is also what an orchestrator should see).
    let response = server
        .raw()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_error(response, 503, ErrorCode::Unavailable).await;
}

on_both_databases!(
    a_database_that_goes_away_is_unavailable_not_internal,
    bad_bodies,
    oversized_bodies,
    unknown_routes_methods_and_parameters,
    head_requests_need_the_same_permission
);
