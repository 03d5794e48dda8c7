//! `make bench-console` (not part of `make test`): the console's speed with 10 M
//! audit records in its embedded server, measured in the real window (WebKit)
//! through WebDriver. `BENCH_DIR` holds the audit benchmark's database
//! (`make bench-audit` writes it); the console's embedded server runs on it.
//!
//! Measured, each from the window's own clock (`performance.now()`):
//! - first page painted after a filter change: from the hash change to the first
//!   animation frame after the rows are in the DOM (the page's `audit-timing`);
//! - a 500-row page across the IPC boundary: the command's round trip minus the
//!   time its Rust side spent waiting for the server (`server_micros`), next to
//!   the size of the same page as full records (the JSON the server sends);
//! - scrolling: the longest gap between animation frames and every long task
//!   while the list is scrolled through pages for 8 seconds;
//! - the blocked dashboard for 30 days (1 M blocked requests): from the click to
//!   the frame after its charts are in the DOM.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use super::Console;

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95), v[v.len() - 1])
}

/// A million blocked requests over the last 30 days, once.
fn seed_blocked(db: &std::path::Path) {
    let count = Command::new("sqlite3")
        .arg(db)
        .arg("SELECT count(*) FROM blocked_requests")
        .output()
        .expect("sqlite3 is needed");
    let n: u64 = String::from_utf8_lossy(&count.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    if n >= 1_000_000 {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
         INSERT INTO blocked_requests (time_us, reason, source_ip, identity, method, route, status, request_id) \
         SELECT ({now} - (i * 2592000 / 1000000)) * 1000000, \
           CASE i % 5 WHEN 0 THEN 'authentication' WHEN 1 THEN 'authorization' WHEN 2 THEN 'rate_limit' \
             WHEN 3 THEN 'bad_input' ELSE 'unknown_route' END, \
           '10.0.' || (i % 200) || '.' || (i % 251), \
           CASE WHEN i % 3 = 0 THEN NULL ELSE 'svc-' || (i % 97) || ' (id-' || (i % 97) || ')' END, \
           'GET', '/v1/r' || (i % 50), 403, 'bench-' || i FROM n;"
    );
    let status = Command::new("sqlite3").arg(db).arg(sql).status().unwrap();
    assert!(status.success());
}

async fn number(console: &Console, script: &str) -> f64 {
    console
        .client()
        .execute(script, vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// Sets the hash and waits for the new first page's timing.
async fn first_page(console: &Console, hash: &str) -> (f64, f64, f64) {
    let script = format!(
        "document.querySelector(\"[data-testid='audit-timing']\")?.remove(); window.location.hash = {};",
        json!(hash)
    );
    console.client().execute(&script, vec![]).await.unwrap();
    let el = console.wait_for("audit-timing", 300).await;
    let attr = |name: &'static str| {
        let el = el.clone();
        async move {
            el.attr(name)
                .await
                .unwrap()
                .unwrap_or_default()
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        }
    };
    (
        attr("data-first-paint-ms").await,
        attr("data-server-ms").await,
        attr("data-ipc-ms").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: make bench-console"]
async fn console_speed_with_ten_million_records() {
    let bench =
        PathBuf::from(std::env::var("BENCH_DIR").expect("BENCH_DIR: the audit benchmark's data"));
    let db = bench.join("gatehouse.db");
    assert!(
        db.exists(),
        "{} is missing: run make bench-audit first",
        db.display()
    );
    seed_blocked(&db);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&bench, dir.path().join("server")).unwrap();
    let console = Console::start(dir.path(), "embedded").await;
    console.wait_for("shell", 600).await;
    console.client().set_window_size(1400, 900).await.ok();
    console.click("nav-audit").await;
    console.wait_for("audit-timing", 120).await;

    // First pages after filter changes (each twice: cold, then again later).
    let filters = [
        "#/audit?outcome=denied",
        "#/audit?action=payment.refund",
        "#/audit?actor=svc-0012",
        "#/audit?source=10.0.10.38",
        "#/audit?resource_type=order&resource_id=ord-747656",
        "#/audit?request_id=0000004c4b3f-1625ca08236f8dc9",
        "#/audit?actor=svc-0012&action=order.read",
        "#/audit?outcome=failed&action=user.login",
        "#/audit?actor=svc-0012&q=ord-7",
        "#/audit",
    ];
    let (mut paint, mut server, mut ipc) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..2 {
        for f in filters {
            let (p, s, i) = first_page(&console, f).await;
            println!(
                "round {round} {f}: first page painted {p:.1} ms (server {s:.1} ms, IPC {i:.2} ms)"
            );
            paint.push(p);
            server.push(s);
            ipc.push(i);
        }
    }
    let (p50, p95, pmax) = stats(paint);
    let (s50, _, _) = stats(server);
    println!("first page painted after a filter change: p50 {p50:.1} ms, p95 {p95:.1} ms, max {pmax:.1} ms (server p50 {s50:.1} ms)");

    // 500-row pages across IPC, directly: round trip minus server time, and the
    // bytes of the compact rows against the full records.
    let script = "const done = arguments[0]; (async () => { \
        const inv = window.__TAURI_INTERNALS__.invoke; const out = []; let cursor = null; let compact = 0; \
        for (let i = 0; i < 40; i++) { \
          const t = performance.now(); \
          const page = await inv('search_audit', { query: {}, cursor, limit: 500 }); \
          out.push(performance.now() - t - page.server_micros / 1000); \
          compact = JSON.stringify(page.rows).length; cursor = page.next_cursor; } \
        let full = 0; try { const r = await inv('get_audit_record', { seq: 9999999 }); full = JSON.stringify(r).length * 500; } catch (e) {} \
        done({ ipc: out, compact, full }); })();";
    let answer: Value = console
        .client()
        .execute_async(script, vec![])
        .await
        .unwrap();
    let samples: Vec<f64> = answer["ipc"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let (i50, i95, imax) = stats(samples);
    let (ui50, _, _) = stats(ipc);
    println!(
        "500-row page across IPC: p50 {i50:.2} ms, p95 {i95:.2} ms, max {imax:.2} ms; in the page's own loads p50 {ui50:.2} ms; \
         compact page {} bytes vs about {} bytes as full records",
        answer["compact"], answer["full"]
    );

    // Scrolling: 8 s through pages, one 900 px step a frame. Measured: the gaps
    // between frames, and the main thread's busy spells (a message posted to
    // itself every few ms: a gap between two of them is a task or a rendering
    // that held the thread). The same on a plain list of 3,000 rows drawn all
    // at once (no virtualisation, no data) in the same window is the baseline
    // of what WebKit itself costs here.
    first_page(&console, "#/audit?outcome=success").await;
    let probe = "const [target, done] = [arguments[0], arguments[1]]; \
        const l = target === 'audit' ? document.querySelector(\"[data-testid='audit-list']\") : (() => { \
          const d = document.createElement('div'); d.id = 'baseline'; \
          d.style.cssText = 'position:fixed;inset:60px 0 0 220px;overflow-y:auto;background:#fff;z-index:9'; \
          const rows = []; for (let i = 0; i < 3000; i++) rows.push(`<div style=\"height:30px;display:grid;grid-template-columns:176px 1fr 1.3fr 1.2fr 96px 104px 1fr;gap:10px;border-bottom:1px solid #eee;font:13px sans-serif\"><span>2026-01-01 00:00:00.000</span><span>svc-${i}</span><span>order.read</span><span>order/ord-${i}</span><span>success</span><span>10.0.0.${i % 250}</span><span>req-${i}</span></div>`); \
          d.innerHTML = rows.join(''); document.body.appendChild(d); return d; })(); \
        const gaps = []; let last = performance.now(); let worst = 0; const end = last + 8000; \
        const busy = []; let tick = performance.now(); const ch = new MessageChannel(); let running = true; \
        ch.port1.onmessage = () => { const now = performance.now(); busy.push(now - tick); tick = now; if (running) ch.port2.postMessage(0); }; \
        ch.port2.postMessage(0); \
        function frame(now) { const gap = now - last; last = now; gaps.push(gap); if (gap > worst) worst = gap; \
          l.scrollTop += 900; if (l.scrollTop + l.clientHeight >= l.scrollHeight - 2) l.scrollTop = 0; \
          if (now < end) requestAnimationFrame(frame); \
          else { running = false; \
            if (target !== 'audit') l.remove(); \
            const sorted = gaps.slice().sort((a, b) => a - b); \
            done({ frames: gaps.length, median_frame_ms: sorted[sorted.length >> 1], worst_frame_ms: worst, \
                   frames_over_50: gaps.filter((g) => g > 50).length, \
                   longest_busy_ms: Math.max(...busy), busy_over_50: busy.filter((b) => b > 50).length, \
                   long_task_api: (PerformanceObserver.supportedEntryTypes || []).includes('longtask'), \
                   rows_in_dom: target === 'audit' ? l.querySelectorAll(\"[data-testid='audit-row']\").length : 3000 }); } } \
        requestAnimationFrame((t) => { last = t; requestAnimationFrame(frame); });";
    for target in ["audit", "baseline"] {
        let result: Value = console
            .client()
            .execute_async(probe, vec![json!(target)])
            .await
            .unwrap();
        println!("scrolling 8 s, {target}: {result}");
    }
    let count = console.text("audit-count").await;
    println!("after scrolling: {count}");
    let held = number(
        &console,
        "return document.querySelectorAll(\"[data-testid='audit-row']\").length",
    )
    .await;
    println!("rows in the DOM after scrolling: {held}");

    // The blocked dashboard for 30 days.
    console.click("nav-blocked").await;
    console.wait_for("blocked-timing", 120).await;
    let mut dash = Vec::new();
    for _ in 0..5 {
        for range in ["range-24h", "range-30d"] {
            console
                .client()
                .execute(
                    "document.querySelector(\"[data-testid='blocked-timing']\")?.remove()",
                    vec![],
                )
                .await
                .unwrap();
            console.click(range).await;
            let el = console.wait_for("blocked-timing", 120).await;
            let ms: f64 = el
                .attr("data-render-ms")
                .await
                .unwrap()
                .unwrap_or_default()
                .parse()
                .unwrap_or(f64::NAN);
            if range == "range-30d" {
                dash.push(ms);
            }
        }
    }
    // The command alone (the server's summary, the five charts drawn, IPC),
    // without the window's layout and paint.
    let script = "const done = arguments[0]; (async () => { \
        const inv = window.__TAURI_INTERNALS__.invoke; const hour = 3600000; const out = []; \
        const to = new Date(Math.ceil(Date.now() / hour) * hour); const from = new Date(to.getTime() - 30 * 86400000); \
        for (let i = 0; i < 5; i++) { const t = performance.now(); \
          await inv('get_blocked_dashboard', { from: from.toISOString(), to: to.toISOString(), theme: 'light', width: 1100 }); \
          out.push(performance.now() - t); } \
        done(out); })();";
    let command: Value = console
        .client()
        .execute_async(script, vec![])
        .await
        .unwrap();
    let command: Vec<f64> = command
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let (c50, _, cmax) = stats(command);
    println!("get_blocked_dashboard for 30 days (server summary + charts + IPC): p50 {c50:.1} ms, max {cmax:.1} ms");
    let total = console.text("blocked-total").await;
    let (d50, d95, dmax) = stats(dash);
    println!(
        "blocked dashboard, 30 days ({total}): p50 {d50:.1} ms, p95 {d95:.1} ms, max {dmax:.1} ms"
    );
    console.screenshot("bench-blocked-30d").await;
    console.click("nav-audit").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    console.screenshot("bench-audit-10m").await;
    console.stop().await;
}
