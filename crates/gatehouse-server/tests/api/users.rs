//! `/v1/users`, `/v1/user-types`, `/v1/registration-flows` (ID-1 … ID-3):
//! administrators define types and flows, create and change users whose every
//! value is checked against their type, find them with filters a keyset page
//! at a time, and every change is recorded with before and after. Auditors
//! read and change nothing; policies see a user's stored attributes.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{ErrorCode, Role};
use serde_json::{json, Value};

use crate::assert_error;
use crate::oauth::record_of;

async fn send(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = server
        .raw()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn clinician() -> Value {
    json!({
        "name": "clinician",
        "description": "Doctors and nurses",
        "attributes": [
            {"name": "department", "kind": "string", "is_required": true},
            {"name": "wards", "kind": "string_set"},
            {"name": "grade", "kind": "long"}
        ],
        "sign_in": ["password_and_phone_code"],
        "second_factor": "required"
    })
}

async fn with_clinicians(server: &TestServer) {
    let put = send(
        server,
        &server.admin_token,
        reqwest::Method::PUT,
        "/v1/user-types/clinician",
        Some(clinician()),
    )
    .await;
    let record = record_of(server, &put).await;
    assert_eq!(put.status(), 200, "{record}");
}

async fn create(server: &TestServer, body: Value) -> reqwest::Response {
    send(
        server,
        &server.admin_token,
        reqwest::Method::POST,
        "/v1/users",
        Some(body),
    )
    .await
}

// proves: ID-3, AU-3
async fn users_are_created_changed_and_disabled_on_the_record(db: Db) {
    let server = TestServer::start(db).await;
    with_clinicians(&server).await;
    let created = create(
        &server,
        json!({
            "user_type": "clinician",
            "display_name": "  Ann Smith ",
            "email": "Ann.Smith@Example.COM",
            "phone": "+44 7700 900123",
            "attributes": {"department": "icu", "wards": ["b2", "a1", "a1"]},
            "entitlements": ["records:read", "records:read"]
        }),
    )
    .await;
    let record = record_of(&server, &created).await;
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["display_name"], "Ann Smith");
    assert_eq!(user["email"], "ann.smith@example.com");
    assert_eq!(user["phone"], "+447700900123");
    assert_eq!(user["status"], "active");
    assert_eq!(user["attributes"]["wards"], json!(["a1", "b2"]));
    assert_eq!(user["entitlements"], json!(["records:read"]));
    assert_eq!(record["action"], "users.create");
    assert_eq!(record["after"]["email"], "ann.smith@example.com");
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/users/{id}");

    // Changed: recorded with before and after; the same id in upper case.
    let patched = send(
        &server,
        &server.admin_token,
        reqwest::Method::PATCH,
        &path.to_uppercase().replace("/V1/USERS/", "/v1/users/"),
        Some(json!({"attributes": {"department": "oncology", "grade": 3}})),
    )
    .await;
    let record = record_of(&server, &patched).await;
    assert_eq!(patched.status(), 200);
    assert_eq!(record["before"]["attributes"]["department"], "icu");
    assert_eq!(record["after"]["attributes"]["department"], "oncology");
    assert_eq!(record["after"]["attributes"]["grade"], 3);

    // Locked by an administrator until unlocked, both on the record.
    let lock_path = format!("{path}/lock");
    let locked = send(
        &server,
        &server.admin_token,
        reqwest::Method::POST,
        &lock_path,
        None,
    )
    .await;
    let record = record_of(&server, &locked).await;
    assert_eq!(record["action"], "users.lock");
    assert_eq!(record["before"]["status"], "active");
    assert_eq!(record["after"]["status"], "locked");
    let unlocked = send(
        &server,
        &server.admin_token,
        reqwest::Method::DELETE,
        &lock_path,
        None,
    )
    .await;
    let unlocked: Value = unlocked.json().await.unwrap();
    assert_eq!(unlocked["status"], "active");

    // Disabled: a soft delete, still readable.
    let disabled = send(
        &server,
        &server.admin_token,
        reqwest::Method::DELETE,
        &path,
        None,
    )
    .await;
    assert_eq!(disabled.status(), 200);
    let read: Value = send(
        &server,
        &server.admin_token,
        reqwest::Method::GET,
        &path,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(read["status"], "disabled");
    // A disabled user is neither locked nor unlocked: disabling is final here.
    let relock = send(
        &server,
        &server.admin_token,
        reqwest::Method::POST,
        &lock_path,
        None,
    )
    .await;
    assert_error(relock, 422, ErrorCode::ValidationFailed).await;

    // The same email again: a conflict, nothing written.
    let again = create(
        &server,
        json!({"user_type": "clinician", "display_name": "Other", "email": "ann.smith@example.com",
               "attributes": {"department": "icu"}}),
    )
    .await;
    assert_error(again, 409, ErrorCode::Conflict).await;
    server.stop().await;
}

// proves: ID-3
async fn bad_users_are_refused_each_with_a_clear_error(db: Db) {
    let server = TestServer::start(db).await;
    with_clinicians(&server).await;
    let base = || {
        json!({"user_type": "clinician", "display_name": "Bob", "email": "bob@example.com",
               "attributes": {"department": "icu"}})
    };
    let with = |key: &str, value: Value| {
        let mut body = base();
        body[key] = value;
        body
    };
    let cases = [
        (
            "unknown user type",
            with("user_type", json!("martian")),
            "user_type",
        ),
        (
            "malformed email",
            with("email", json!("bob@@example.com")),
            "email",
        ),
        (
            "header injection in the email",
            with("email", json!("bob@example.com\r\nBcc: x@y.z")),
            "email",
        ),
        (
            "phone not E.164",
            with("phone", json!("07700 900123")),
            "phone",
        ),
        (
            "a required attribute missing",
            with("attributes", json!({"wards": ["a1"]})),
            "department",
        ),
        (
            "an attribute of the wrong type",
            with("attributes", json!({"department": "icu", "grade": "three"})),
            "grade",
        ),
        (
            "an undeclared attribute",
            with(
                "attributes",
                json!({"department": "icu", "clearance": "top"}),
            ),
            "attributes",
        ),
        (
            "an oversized attribute",
            with("attributes", json!({"department": "x".repeat(300)})),
            "department",
        ),
        (
            "an empty display name",
            with("display_name", json!("  ")),
            "display_name",
        ),
        (
            "a malformed entitlement",
            with("entitlements", json!(["Records Read!"])),
            "entitlement",
        ),
        (
            "no way to reach the user",
            json!({"user_type": "clinician", "display_name": "Bob", "attributes": {"department": "icu"}}),
            "email or phone",
        ),
    ];
    for (why, body, names) in cases {
        let error = assert_error(
            create(&server, body).await,
            422,
            ErrorCode::ValidationFailed,
        )
        .await;
        assert!(error.message.contains(names), "{why}: {}", error.message);
    }
    // Unknown fields are refused as the body they are.
    let unknown = create(&server, with("is_admin", json!(true))).await;
    assert_error(unknown, 422, ErrorCode::InvalidBody).await;
    // Nothing was created by any of them.
    let page: Value = send(
        &server,
        &server.admin_token,
        reqwest::Method::GET,
        "/v1/users",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page["items"], json!([]));
    // A type that could never be satisfied, a flow that could never complete.
    let mut bad_type = clinician();
    bad_type["attributes"] =
        json!([{"name": "a", "kind": "string"}, {"name": "a", "kind": "long"}]);
    let put = send(
        &server,
        &server.admin_token,
        reqwest::Method::PUT,
        "/v1/user-types/clinician",
        Some(bad_type),
    )
    .await;
    assert_error(put, 422, ErrorCode::ValidationFailed).await;
    let renamed = send(
        &server,
        &server.admin_token,
        reqwest::Method::PUT,
        "/v1/user-types/nurse",
        Some(clinician()),
    )
    .await;
    assert_error(renamed, 422, ErrorCode::ValidationFailed).await;
    let flow = json!({"user_type": "clinician", "is_open": true, "proofs": ["password"],
                      "requires_approval": false, "attributes": ["department"]});
    let put = send(
        &server,
        &server.admin_token,
        reqwest::Method::PUT,
        "/v1/registration-flows/clinician",
        Some(flow),
    )
    .await;
    assert_error(put, 422, ErrorCode::ValidationFailed).await;
    server.stop().await;
}

// proves: ID-3, AZ-12
async fn pages_filter_and_continue_and_auditors_change_nothing(db: Db) {
    let server = TestServer::start(db).await;
    with_clinicians(&server).await;
    for i in 0..7 {
        let department = if i % 2 == 0 { "icu" } else { "oncology" };
        let created = create(
            &server,
            json!({"user_type": "clinician", "display_name": format!("User {i}"),
                   "email": format!("u{i}@example.com"), "attributes": {"department": department},
                   "entitlements": if i == 3 { json!(["records:write"]) } else { json!([]) }}),
        )
        .await;
        assert_eq!(created.status(), 201);
    }
    let get = |query: &'static str| {
        let server = &server;
        async move {
            let page: Value = send(
                server,
                &server.admin_token,
                reqwest::Method::GET,
                &format!("/v1/users{query}"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
            page
        }
    };
    let first = get("?limit=3").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let after = first["next_after"].as_str().unwrap().to_owned();
    let second: Value = send(
        &server,
        &server.admin_token,
        reqwest::Method::GET,
        &format!("/v1/users?limit=3&after={after}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(second["items"][0]["display_name"], "User 3");
    let icu = get("?attribute=department:icu").await;
    assert_eq!(icu["items"].as_array().unwrap().len(), 4);
    assert_eq!(icu["next_after"], Value::Null);
    let writers = get("?entitlement=records:write").await;
    assert_eq!(writers["items"][0]["display_name"], "User 3");
    let named = get("?q=user%205").await;
    assert_eq!(named["items"].as_array().unwrap().len(), 1);
    for bad in [
        "?limit=0",
        "?limit=501",
        "?attribute=department",
        "?status=gone",
        "?colour=red",
    ] {
        let response = send(
            &server,
            &server.admin_token,
            reqwest::Method::GET,
            &format!("/v1/users{bad}"),
            None,
        )
        .await;
        assert_error(response, 400, ErrorCode::InvalidParameter).await;
    }
    // An auditor reads users and types and changes none of them.
    let auditor = server.mint(Role::Auditor).await;
    let read = send(&server, &auditor, reqwest::Method::GET, "/v1/users", None).await;
    assert_eq!(read.status(), 200);
    let id = first["items"][0]["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/v1/users".to_owned(),
            Some(json!({})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1/users/{id}"),
            Some(json!({"status": "locked"})),
        ),
        (reqwest::Method::DELETE, format!("/v1/users/{id}"), None),
        (
            reqwest::Method::PUT,
            "/v1/user-types/clinician".to_owned(),
            Some(clinician()),
        ),
    ] {
        let refused = send(&server, &auditor, method, &path, body).await;
        assert_error(refused, 403, ErrorCode::Forbidden).await;
    }
    // A policy sees the user's stored attributes: no one changes a locked user.
    let forbid = r#"@id("no_edits_of_locked") forbid (principal, action == Action::"users.update", resource is User) when { resource.is_locked };"#;
    server
        .client()
        .create_policy_version(&gatehouse_types::CreatePolicyVersionRequest {
            text: format!("{}\n{forbid}", gatehouse_authz::BUILTIN_POLICIES),
            base_version: 1,
            reason: "freeze locked users".into(),
        })
        .await
        .unwrap();
    let path = format!("/v1/users/{id}");
    let lock = send(
        &server,
        &server.admin_token,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "locked"})),
    )
    .await;
    assert_eq!(lock.status(), 200);
    let edit = send(
        &server,
        &server.admin_token,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"display_name": "X"})),
    )
    .await;
    assert_error(edit, 403, ErrorCode::Forbidden).await;
    server.stop().await;
}

// proves: ID-3, CO-6 (a concurrent edit by another administrator is refused,
// nothing overwritten)
async fn an_edit_made_from_a_stale_read_is_refused_and_overwrites_nothing(db: Db) {
    let server = TestServer::start(db).await;
    with_clinicians(&server).await;
    let user: Value = create(
        &server,
        json!({"user_type": "clinician", "display_name": "Ann", "email": "ann@example.com",
               "phone": "+447700900124", "attributes": {"department": "icu"}}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());
    let read_at = user["updated_at"].clone();
    let admin = &server.admin_token;
    // The first editor saves from what both read (in the same microsecond as
    // the second: the version still tells them apart)...
    let first = send(
        &server,
        admin,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"display_name": "Ann Smith", "expected_updated_at": read_at})),
    )
    .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_ne!(first["updated_at"], read_at);
    // ...the second, from the same read, is refused and changes nothing.
    let second = send(
        &server,
        admin,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"attributes": {"department": "oncology"}, "expected_updated_at": read_at})),
    )
    .await;
    let error = assert_error(second, 409, ErrorCode::Conflict).await;
    assert!(error.message.contains("reload"), "{}", error.message);
    let now: Value = send(&server, admin, reqwest::Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["display_name"], "Ann Smith");
    assert_eq!(now["attributes"]["department"], "icu");
    // Made from the version just read, it goes through.
    let third = send(
        &server,
        admin,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"attributes": {"department": "oncology"}, "expected_updated_at": now["updated_at"]})),
    )
    .await;
    assert_eq!(third.status(), 200);
    server.stop().await;
}

// proves: CO-8, ID-3 (users with the filters, and sessions, as formula-safe CSV)
async fn users_and_sessions_export_to_csv_with_the_filters(db: Db) {
    let server = TestServer::start(db).await;
    with_clinicians(&server).await;
    for (i, (name, email, department)) in [
        ("=HYPERLINK(\"http://x\")", "a@example.com", "icu"),
        ("Bo Lee", "b@example.com", "icu"),
        ("Cy Diaz", "c@example.com", "oncology"),
    ]
    .into_iter()
    .enumerate()
    {
        let created = create(
            &server,
            json!({"user_type": "clinician", "display_name": name, "email": email,
                   "phone": format!("+4477009001{i}"), "attributes": {"department": department}}),
        )
        .await;
        assert_eq!(created.status(), 201);
    }
    let admin = &server.admin_token;
    let csv = send(
        &server,
        admin,
        reqwest::Method::GET,
        "/v1/users/export?attribute=department:icu",
        None,
    )
    .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,display_name,user_type,status,email,is_email_verified,phone,is_phone_verified,\
         entitlements,attributes,source,locked_until,created_at,updated_at"
    );
    assert_eq!(lines.len(), 3, "the header and the two in icu: {text}");
    assert!(
        !text.contains(",=HYPERLINK"),
        "a formula cell is neutralised: {text}"
    );
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(!text.contains("Cy Diaz"));
    let bad = send(
        &server,
        admin,
        reqwest::Method::GET,
        "/v1/users/export?attribute=icu",
        None,
    )
    .await;
    assert_error(bad, 400, ErrorCode::InvalidParameter).await;
    let id = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let sessions = send(
        &server,
        admin,
        reqwest::Method::GET,
        &format!("/v1/users/{id}/sessions/export"),
        None,
    )
    .await;
    assert_eq!(sessions.status(), 200);
    assert!(sessions
        .text()
        .await
        .unwrap()
        .starts_with("id,user_id,client_id,started_at"));
    server.stop().await;
}

on_both_databases!(
    users_and_sessions_export_to_csv_with_the_filters,
    an_edit_made_from_a_stale_read_is_refused_and_overwrites_nothing,
    users_are_created_changed_and_disabled_on_the_record,
    bad_users_are_refused_each_with_a_clear_error,
    pages_filter_and_continue_and_auditors_change_nothing,
);
