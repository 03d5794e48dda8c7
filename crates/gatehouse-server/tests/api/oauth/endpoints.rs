//! The OAuth endpoints as RFC 6749, 7009, 7662 and 8414 say, and every bad
//! request answered in RFC 6749's error shape (ID-10, TK-5).

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use serde_json::{json, Value};

use super::{access_token, basic, call, record_of, register, token_response, TestClient};

/// Asserts an OAuth error: status, `error`, a description, nothing else, and
/// never cached.
async fn assert_oauth_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{error}");
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    if status == 401 {
        assert!(headers.contains_key("www-authenticate"), "{error}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    body
}

// proves: ID-10, TK-1
async fn client_credentials_issue_a_short_lived_token_that_works_on_private_routes(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "auditor", &["audit:read", "server:read"]).await;
    let response = token_response(&server, &client, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let record = record_of(&server, &response).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "audit:read server:read");
    assert_eq!(record["actor"]["kind"], "client");
    assert_eq!(record["actor"]["id"], client.id);
    assert_eq!(record["action"], "oauth2.token");
    // The secret is nowhere in the trail.
    assert!(!record.to_string().contains(&client.secret));
    let token = body["access_token"].as_str().unwrap();
    // The token on private routes: what its role and scopes allow.
    let who: Value = server
        .raw()
        .get(server.url("/v1/server"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["identity"]["kind"], "client");
    assert_eq!(who["identity"]["client_id"], client.id);
    assert_eq!(who["identity"]["role"], "auditor");
    let search = call(&server, token).await;
    let record = record_of(&server, &search).await;
    assert_eq!(search.status(), 200);
    assert_eq!(record["actor"]["kind"], "client");
    assert_eq!(
        record["details"]["access_decision"]["scope"]["granted"],
        true
    );
    // A narrower scope on request; client_secret_post works as well.
    let narrow = server
        .raw()
        .post(server.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret.as_str()),
            ("scope", "server:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(narrow.status(), 200);
    let narrow: Value = narrow.json().await.unwrap();
    assert_eq!(narrow["scope"], "server:read");
    let narrow = narrow["access_token"].as_str().unwrap();
    // Out of scope: refused, whatever the role allows, and the record says why.
    let refused = call(&server, narrow).await;
    let record = record_of(&server, &refused).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(record["details"]["access_decision"]["denied_by"], "scope");
    // In scope but beyond the role: the policies refuse.
    let write = server
        .raw()
        .post(server.url("/v1/audit/events"))
        .bearer_auth(token)
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
}

// proves: ID-10
async fn an_administrator_client_does_no_more_than_its_scopes(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "administrator", &["audit:read"]).await;
    let token = access_token(&server, &client).await;
    assert_eq!(call(&server, &token).await.status(), 200);
    for (method, path) in [
        (reqwest::Method::GET, "/v1/keys"),
        (reqwest::Method::GET, "/v1/clients"),
        (reqwest::Method::GET, "/v1/policies"),
        (reqwest::Method::POST, "/v1/keys/rotate"),
    ] {
        let r = server
            .raw()
            .request(method, server.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // It cannot ask for a scope it was not registered with.
    let more = token_response(&server, &client, &[("scope", "audit:read keys:write")]).await;
    assert_oauth_error(more, 400, "invalid_scope").await;
}

// proves: ID-10
async fn every_bad_token_request_gets_its_rfc_6749_error(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "service", &["audit:write"]).await;
    let url = server.url("/oauth2/token");
    let raw = server.raw();
    let good_basic = basic(&client.id, &client.secret);
    let form = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let post = |auth: Option<String>, content_type: &'static str, body: String| {
        let mut request = raw
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    let urlenc = "application/x-www-form-urlencoded";
    let cc = "grant_type=client_credentials".to_owned();
    // (what, Authorization, Content-Type, body, status, error)
    type Case<'a> = (&'a str, Option<String>, &'static str, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "JSON body",
            Some(good_basic.clone()),
            "application/json",
            r#"{"grant_type":"client_credentials"}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "no grant_type",
            Some(good_basic.clone()),
            urlenc,
            "scope=audit%3Awrite".into(),
            400,
            "invalid_request",
        ),
        (
            "grant_type twice",
            Some(good_basic.clone()),
            urlenc,
            format!("{cc}&{cc}"),
            400,
            "invalid_request",
        ),
        (
            "a broken escape",
            Some(good_basic.clone()),
            urlenc,
            format!("{cc}&scope=%zz"),
            400,
            "invalid_request",
        ),
        (
            "the password grant",
            Some(good_basic.clone()),
            urlenc,
            form(&[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ]),
            400,
            "unsupported_grant_type",
        ),
        (
            "the implicit grant",
            Some(good_basic.clone()),
            urlenc,
            form(&[("grant_type", "implicit")]),
            400,
            "unsupported_grant_type",
        ),
        (
            "a made-up grant",
            Some(good_basic.clone()),
            urlenc,
            form(&[("grant_type", "urn:x:y")]),
            400,
            "unsupported_grant_type",
        ),
        (
            "no client authentication",
            None,
            urlenc,
            cc.clone(),
            401,
            "invalid_client",
        ),
        (
            "a wrong secret",
            Some(basic(&client.id, "ghs_wrong")),
            urlenc,
            cc.clone(),
            401,
            "invalid_client",
        ),
        (
            "an unknown client",
            Some(basic(
                "0190a5f4-0000-7000-8000-000000000001",
                &client.secret,
            )),
            urlenc,
            cc.clone(),
            401,
            "invalid_client",
        ),
        (
            "a bearer, not Basic",
            Some(format!("Bearer {}", server.admin_token)),
            urlenc,
            cc.clone(),
            401,
            "invalid_client",
        ),
        (
            "Basic that is not base64",
            Some("Basic !!!".into()),
            urlenc,
            cc.clone(),
            401,
            "invalid_client",
        ),
        (
            "two methods at once",
            Some(good_basic.clone()),
            urlenc,
            format!(
                "{cc}&client_id={}&client_secret={}",
                client.id, client.secret
            ),
            400,
            "invalid_request",
        ),
        (
            "a scope it does not have",
            Some(good_basic.clone()),
            urlenc,
            format!("{cc}&scope=keys%3Awrite"),
            400,
            "invalid_scope",
        ),
        (
            "a malformed scope",
            Some(good_basic.clone()),
            urlenc,
            format!("{cc}&scope=a%22b"),
            400,
            "invalid_scope",
        ),
    ];
    for (name, auth, content_type, body, status, error) in cases {
        let response = post(auth, content_type, body).await.unwrap();
        let record = record_of(&server, &response).await;
        assert_oauth_error(response, status, error).await;
        assert_eq!(
            record["details"]["rfc6749_error"], error,
            "{name}: {record}"
        );
        assert!(!record.to_string().contains(&client.secret), "{name}");
    }
    // A client that may not use the grant.
    let code_only = server
        .raw()
        .post(server.url("/v1/clients"))
        .bearer_auth(&server.admin_token)
        .json(
            &json!({"name": "app", "role": "user", "grant_types": ["authorization_code"],
            "scopes": ["server:read"], "redirect_uris": ["http://127.0.0.1/callback"]}),
        )
        .send()
        .await
        .unwrap();
    let code_only: Value = code_only.json().await.unwrap();
    let app = TestClient {
        id: code_only["client"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        secret: code_only["client_secret"].as_str().unwrap().to_owned(),
    };
    assert_oauth_error(
        token_response(&server, &app, &[]).await,
        400,
        "unauthorized_client",
    )
    .await;
    // The good request, after all that, still works.
    assert_eq!(token_response(&server, &client, &[]).await.status(), 200);
}

// proves: TK-5
async fn introspection_answers_allowed_clients_and_says_only_inactive_otherwise(db: Db) {
    let server = TestServer::start(db).await;
    let resource = register(&server, "service", &["tokens:introspect"]).await;
    let caller = register(&server, "auditor", &["audit:read"]).await;
    let token = access_token(&server, &caller).await;
    let introspect = |who: &TestClient, token: &str| {
        server
            .raw()
            .post(server.url("/oauth2/introspect"))
            .header("authorization", basic(&who.id, &who.secret))
            .form(&[("token", token)])
            .send()
    };
    let active: Value = introspect(&resource, &token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], caller.id);
    assert_eq!(active["scope"], "audit:read");
    assert_eq!(active["token_type"], "Bearer");
    assert!(active["exp"].as_i64().unwrap() > active["iat"].as_i64().unwrap());
    // Garbage, and a revoked token: `{"active": false}` and nothing else.
    let garbage: Value = introspect(&resource, "not-a-token")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(garbage, json!({"active": false}));
    let revoked = server
        .raw()
        .post(server.url("/oauth2/revoke"))
        .header("authorization", basic(&caller.id, &caller.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after: Value = introspect(&resource, &token)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, json!({"active": false}));
    // A client not allowed to introspect, and no client at all.
    assert_oauth_error(
        introspect(&caller, &token).await.unwrap(),
        400,
        "unauthorized_client",
    )
    .await;
    let anonymous = server
        .raw()
        .post(server.url("/oauth2/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(anonymous, 401, "invalid_client").await;
}

// proves: TK-5
async fn revocation_answers_200_for_unknown_tokens_and_refuses_other_clients_tokens(db: Db) {
    let server = TestServer::start(db).await;
    let a = register(&server, "auditor", &["audit:read"]).await;
    let b = register(&server, "auditor", &["audit:read"]).await;
    let token = access_token(&server, &a).await;
    let revoke = |who: &TestClient, token: &str| {
        server
            .raw()
            .post(server.url("/oauth2/revoke"))
            .header("authorization", basic(&who.id, &who.secret))
            .form(&[("token", token), ("token_type_hint", "refresh_token")])
            .send()
    };
    // Unknown and malformed tokens: 200, nothing revoked (RFC 7009 §2.2).
    assert_eq!(revoke(&a, "no-such-token").await.unwrap().status(), 200);
    // Another client's token: refused, and it keeps working.
    assert_oauth_error(
        revoke(&b, &token).await.unwrap(),
        400,
        "unauthorized_client",
    )
    .await;
    assert_eq!(call(&server, &token).await.status(), 200);
    // Its own: revoked; twice is fine.
    assert_eq!(revoke(&a, &token).await.unwrap().status(), 200);
    assert_eq!(call(&server, &token).await.status(), 401);
    assert_eq!(revoke(&a, &token).await.unwrap().status(), 200);
    // Without a token parameter.
    let missing = server
        .raw()
        .post(server.url("/oauth2/revoke"))
        .header("authorization", basic(&a.id, &a.secret))
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(missing, 400, "invalid_request").await;
}

// proves: TK-2, TK-6
async fn discovery_and_the_key_set_describe_what_exists(db: Db) {
    let server = TestServer::start(db).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let meta: Value = server
            .raw()
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["issuer"], server.base_url);
        assert_eq!(meta["token_endpoint"], server.url("/oauth2/token"));
        assert_eq!(meta["jwks_uri"], server.url("/.well-known/jwks.json"));
        assert_eq!(meta["revocation_endpoint"], server.url("/oauth2/revoke"));
        assert_eq!(
            meta["introspection_endpoint"],
            server.url("/oauth2/introspect")
        );
        assert_eq!(
            meta["authorization_endpoint"],
            server.url("/oauth2/authorize")
        );
        assert_eq!(meta["userinfo_endpoint"], server.url("/oauth2/userinfo"));
        assert_eq!(
            meta["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        // Code only: no implicit, no hybrid (RFC 9700); PKCE with S256 only.
        assert_eq!(meta["response_types_supported"], json!(["code"]));
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            meta["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            meta["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        for claim in ["sub", "auth_time", "nonce", "amr", "acr", "email"] {
            assert!(meta["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)));
        }
        assert_eq!(
            meta["id_token_signing_alg_values_supported"],
            json!(["EdDSA"])
        );
        let scopes = meta["scopes_supported"].as_array().unwrap();
        assert!(
            scopes.contains(&json!("audit:read")) && scopes.contains(&json!("tokens:introspect"))
        );
        for scope in ["openid", "profile", "email", "phone", "offline_access"] {
            assert!(scopes.contains(&json!(scope)), "{scope}");
        }
    }
    let jwks = server
        .raw()
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.headers()["content-type"], "application/jwk-set+json");
    assert_eq!(jwks.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = jwks.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    // The current key and the next one, public halves only.
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_eq!(k["kty"], "OKP");
        assert_eq!(k["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "{k}");
        }
    }
}

// proves: AZ-4, TK-3
async fn the_decision_api_answers_for_a_tokens_subject(db: Db) {
    let server = TestServer::start(db).await;
    let reporting = register(&server, "auditor", &["audit:read"]).await;
    let token = access_token(&server, &reporting).await;
    let ask = |requests: Value| {
        server
            .raw()
            .post(server.url("/v1/authorize"))
            .bearer_auth(&server.admin_token)
            .json(&json!({ "requests": requests }))
            .send()
    };
    let context = json!({"source_ip": "10.0.0.1", "time": 1_790_000_000});
    let question = |token: &str, action: &str| {
        json!({"principal_token": token, "action": action,
            "resource": {"type": "AuditTrail", "id": "audit"}, "context": context})
    };
    let mut both = question(&token, "audit.search");
    both["principal"] =
        json!({"type": "ApiToken", "id": "x", "attributes": {"name": "x", "role": "auditor"}});
    let answer: Value = ask(json!([
        question(&token, "audit.search"),
        question(&token, "audit.ingest"),
        question("eyJhbGciOiJub25lIn0.e30.", "audit.search"),
        both,
    ]))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let results = answer["results"].as_array().unwrap();
    // The token's subject is the client, in its role: it may search, not ingest.
    assert_eq!(results[0]["result"]["decision"], "allow", "{answer}");
    assert_eq!(results[0]["result"]["policies"], json!(["builtin.auditor"]));
    assert_eq!(results[1]["result"]["decision"], "deny", "{answer}");
    // A forged token gets the uniform refusal, alone; the others are answered.
    assert_eq!(results[2]["error"]["code"], "invalid_token", "{answer}");
    assert_eq!(results[3]["error"]["code"], "invalid_body", "{answer}");
    // A revoked token answers for no one.
    let revoked = server
        .raw()
        .post(server.url("/oauth2/revoke"))
        .header("authorization", basic(&reporting.id, &reporting.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let answer: Value = ask(json!([question(&token, "audit.search")]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["results"][0]["error"]["code"], "invalid_token",
        "{answer}"
    );
}

on_both_databases!(
    the_decision_api_answers_for_a_tokens_subject,
    client_credentials_issue_a_short_lived_token_that_works_on_private_routes,
    an_administrator_client_does_no_more_than_its_scopes,
    every_bad_token_request_gets_its_rfc_6749_error,
    introspection_answers_allowed_clients_and_says_only_inactive_otherwise,
    revocation_answers_200_for_unknown_tokens_and_refuses_other_clients_tokens,
    discovery_and_the_key_set_describe_what_exists,
);
