//! `make bench-console-users` (not part of `make test`): the Users page with
//! 100,000 users in the console's embedded server, measured in the real window
//! (WebKit) through WebDriver.
//!
//! The data: `gatehouse init` and `gatehouse demo` (the three demo types, 108
//! users made through the API's own path), then 100,000 more users of those
//! types written straight into SQLite with their attribute and entitlement
//! rows (as the store's `write_user` spreads them), so that every filter has
//! both common and rare answers.
//!
//! Measured, each from the window's own clock (`performance.now()`): from the
//! filter change (a select changed, or a text filter submitted with Enter; a
//! text filter typed without Enter waits 250 ms for the typing to stop first)
//! to the first animation frame after the first page's rows are in the DOM
//! (`users-timing`'s `data-painted-at`). Side by side in the same run: the
//! same query's first page fetched through the same command with no
//! rendering (`list_users` over IPC from the window), so the difference is
//! what the page itself costs.

use std::process::Command;

use serde_json::{json, Value};

use super::Console;

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95), v[v.len() - 1])
}

const USERS: u32 = 100_000;

/// 100,000 users, each type in turn, with the demo types' attributes.
fn seed_users(db: &std::path::Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let sql = format!(
        "BEGIN; \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS}), \
         p AS (SELECT i, CASE i % 3 WHEN 0 THEN 'clinician' WHEN 1 THEN 'patient' ELSE 'operator' END AS t, \
           json_extract('[\"Ann\",\"Bola\",\"Chen\",\"Dana\",\"Emeka\",\"Farah\",\"Goran\",\"Hana\",\"Ivan\",\"Jaya\",\"Kofi\",\"Lena\",\"Mara\",\"Nils\",\"Omar\",\"Pita\"]', '$[' || (i % 16) || ']') \
             || ' ' || json_extract('[\"Smith\",\"Okafor\",\"Novak\",\"Haddad\",\"Tanaka\",\"Silva\",\"Berg\",\"Costa\",\"Dube\",\"Eze\",\"Ferreira\",\"Gupta\",\"Ito\"]', '$[' || ((i / 16) % 13) || ']') AS name \
           FROM n) \
         INSERT INTO users (id, user_type, status, display_name, search_name, email, is_email_verified, \
           phone, is_phone_verified, attributes, entitlements, source, directory_dn, created_at_us, \
           created_by, updated_at_us, recent_failures, locked_until_us) \
         SELECT printf('00000000-0000-7000-8000-%012d', i), t, \
           CASE WHEN i % 97 = 0 THEN 'locked' WHEN i % 89 = 0 THEN 'disabled' ELSE 'active' END, \
           name, lower(name), 'user' || i || '@bench.example', 1, printf('+4479%08d', i), 1, \
           CASE t \
             WHEN 'clinician' THEN json_object('department', json_extract('[\"icu\",\"oncology\",\"cardiology\",\"emergency\",\"radiology\",\"neurology\",\"pediatrics\",\"surgery\"]', '$[' || (i % 8) || ']'), 'grade', (i % 5) + 1) \
             WHEN 'patient' THEN json_object('ward', 'w' || (i % 400), 'is_inpatient', json(CASE WHEN i % 2 = 0 THEN 'true' ELSE 'false' END)) \
             ELSE json_object('team', json_extract('[\"detection\",\"identity\",\"platform\"]', '$[' || (i % 3) || ']'), 'is_on_call', json('false')) END, \
           CASE t WHEN 'clinician' THEN CASE WHEN i % 7 = 0 THEN '[\"records:read\",\"records:write\"]' ELSE '[\"records:read\"]' END \
             WHEN 'operator' THEN '[\"console:use\"]' ELSE '[]' END, \
           'local', NULL, {now}, 'bench', {now}, '[]', NULL FROM p; \
         INSERT INTO user_attributes (user_id, name, value) \
           SELECT u.id, j.key, CASE WHEN j.type IN ('true', 'false') THEN j.type ELSE CAST(j.value AS TEXT) END \
           FROM users u, json_each(u.attributes) j WHERE u.created_by = 'bench'; \
         INSERT INTO user_entitlements (user_id, entitlement) \
           SELECT u.id, j.value FROM users u, json_each(u.entitlements) j WHERE u.created_by = 'bench'; \
         COMMIT; ANALYZE;"
    );
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One filter change: `(testid, value)` set on its control, then the page's
/// first page awaited. Returns (ms from the change to the painted frame,
/// rows shown).
async fn change(console: &Console, testid: &str, value: &str) -> (f64, f64) {
    let script = "const [testid, value, done] = arguments; \
        const el = document.querySelector(`[data-testid='${testid}']`); \
        const timing = () => Number(document.querySelector(\"[data-testid='users-timing']\")?.dataset.paintedAt ?? 0); \
        const t0 = performance.now(); \
        el.value = value; \
        if (el.tagName === 'SELECT') el.dispatchEvent(new Event('change', { bubbles: true })); \
        else { el.dispatchEvent(new Event('input', { bubbles: true })); el.form.requestSubmit(); } \
        const wait = () => { const at = timing(); \
          if (at > t0) done([at - t0, document.querySelectorAll(\"[data-testid='users-row']\").length]); \
          else requestAnimationFrame(wait); }; \
        requestAnimationFrame(wait);";
    let answer: Value = console
        .client()
        .execute_async(script, vec![json!(testid), json!(value)])
        .await
        .unwrap();
    (
        answer[0].as_f64().unwrap_or(f64::NAN),
        answer[1].as_f64().unwrap_or(f64::NAN),
    )
}

/// The same first page through the same command, without the page: ms.
async fn fetch_only(console: &Console, query: &Value) -> f64 {
    let script = "const [query, done] = arguments; \
        const t = performance.now(); \
        window.__TAURI_INTERNALS__.invoke('list_users', { query, after: null, limit: 100 }) \
          .then(() => done(performance.now() - t), () => done(-1));";
    console
        .client()
        .execute_async(script, vec![query.clone()])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: make bench-console-users"]
async fn console_users_page_with_100k_users() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let env = [("GATEHOUSE_DATA_DIR", server_dir.to_str().unwrap())];
    for args in [&["init"][..], &["demo"][..]] {
        let out = crate::gatehouse(args, &env);
        assert!(out.status.success(), "{}", crate::stderr(&out));
    }
    seed_users(&server_dir.join("gatehouse.db"));
    let console = Console::start(dir.path(), "embedded").await;
    console.wait_for("shell", 600).await;
    console.client().set_window_size(1400, 900).await.ok();
    console.click("nav-users").await;
    console.wait_for("users-timing", 120).await;

    // (control, value, the query it leaves): each applied on top of a clean form.
    let steps: [(&str, &str, Value); 12] = [
        (
            "users-filter-type",
            "clinician",
            json!({"user_type": "clinician"}),
        ),
        (
            "users-filter-status",
            "locked",
            json!({"user_type": "clinician", "status": "locked"}),
        ),
        ("users-filter-type", "", json!({"status": "locked"})),
        ("users-filter-status", "", json!({})),
        (
            "users-filter-attribute",
            "department:radiology",
            json!({"attribute": "department:radiology"}),
        ),
        (
            "users-filter-attribute",
            "ward:w217",
            json!({"attribute": "ward:w217"}),
        ),
        ("users-filter-attribute", "", json!({})),
        (
            "users-filter-entitlement",
            "records:write",
            json!({"entitlement": "records:write"}),
        ),
        ("users-filter-entitlement", "", json!({})),
        ("users-filter-q", "kofi", json!({"q": "kofi"})),
        // No answer anywhere: every row's name, email and phone is looked at.
        ("users-filter-q", "quentin", json!({"q": "quentin"})),
        // A rare answer under a common type: the first page needs the whole index.
        (
            "users-filter-type",
            "operator",
            json!({"user_type": "operator", "q": "quentin"}),
        ),
    ];
    let (mut paint, mut fetch) = (Vec::new(), Vec::new());
    for round in 0..3 {
        for (testid, value, query) in &steps {
            let (ms, rows) = change(&console, testid, value).await;
            let raw = fetch_only(&console, query).await;
            println!(
                "round {round} {testid}={value:?}: first page painted {ms:.1} ms ({rows} rows); same page fetched without the page {raw:.1} ms"
            );
            assert!(raw >= 0.0, "list_users failed for {query}");
            paint.push(ms);
            fetch.push(raw);
        }
        change(&console, "users-filter-q", "").await;
        change(&console, "users-filter-type", "").await;
    }
    console.screenshot("users-100k").await;
    let (p50, p95, pmax) = stats(paint);
    let (f50, f95, fmax) = stats(fetch);
    println!(
        "Users page, {USERS} users: first page painted after a filter change p50 {p50:.1} ms, p95 {p95:.1} ms, max {pmax:.1} ms; \
         the same pages fetched without rendering p50 {f50:.1} ms, p95 {f95:.1} ms, max {fmax:.1} ms"
    );
    console.stop().await;
}
