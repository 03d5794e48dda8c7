//! `make bench-identity`: people signing in (issue 14's targets, figures in
//! BENCHMARKS.md), side by side in one run on this machine:
//!
//! 1. raw Argon2id: `Hasher::verify` at OWASP's parameters (19 MiB, t=2, p=1)
//!    on one thread per core, for `BENCH_SECONDS`: verifies per second, the
//!    floor of any password sign-in;
//! 2. `POST /v1/auth/password` over HTTPS on loopback (the real server, SQLite,
//!    in this process, release build), `BENCH_CONNECTIONS` callers at once:
//!    each sign-in verifies the password, opens a session with its refresh
//!    token, signs an access token and commits its audit record;
//!    The same sign-ins are also driven by wrk (C, two threads, TLS 1.3), the
//!    load generator bench-tokens uses, when it is installed;
//!    And one at a time: one raw verify after another on one thread, against
//!    one caller's sign-ins one after another (the whole sign-in's cost next to
//!    a verify's, with no load generator sharing the cores);
//! 3. `POST /v1/auth/refresh`: one chain per caller, each rotating its own
//!    refresh token (single use, so each answer's token is the next request's);
//! 4. 1,000 sign-ins at once: the process's peak resident memory (VmHWM, server
//!    and callers together) and `/healthz` answering meanwhile.
//!
//! The anonymous limit (`[anonymous]`, 120 requests a minute per source by
//! default) is off and the connection caps raised to 2,048: all callers here
//! share one address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_testkit::{Db, TestServer};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple 42";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Raw Argon2id verifies per second on `threads` threads for `seconds`: the
/// argon2 crate alone, each thread with its working memory allocated once
/// (as the server's hasher keeps one per permit), then a constant-time
/// comparison with the stored output.
fn raw_verifies(threads: usize, seconds: u64) -> f64 {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    let params = Params::new(19_456, 2, 1, Some(32)).unwrap();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = [7u8; 16];
    let mut expected = [0u8; 32];
    argon2
        .hash_password_into(PASSWORD.as_bytes(), &salt, &mut expected)
        .unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (argon2, count) = (argon2.clone(), count.clone());
            let mut memory = vec![Block::default(); params.block_count()];
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let mut out = [0u8; 32];
                    argon2
                        .hash_password_into_with_memory(
                            PASSWORD.as_bytes(),
                            &salt,
                            &mut out,
                            &mut memory,
                        )
                        .unwrap();
                    assert!(bool::from(subtle::ConstantTimeEq::ct_eq(
                        &out[..],
                        &expected[..]
                    )));
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn seed(server: &TestServer) {
    let client = server.raw();
    let admin = &server.admin_token;
    let put = client
        .put(server.url("/v1/user-types/staff"))
        .bearer_auth(admin)
        .json(&json!({"name": "staff", "sign_in": ["password"], "second_factor": "optional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let user: Value = client
        .post(server.url("/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"user_type": "staff", "display_name": "Sam", "email": "sam@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap();
    let set = client
        .post(server.url(&format!("/v1/users/{id}/password")))
        .bearer_auth(admin)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
}

async fn sign_in(client: &reqwest::Client, server: &TestServer) -> Value {
    let response = client
        .post(server.url("/v1/auth/password"))
        .json(&json!({"email": "sam@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Sign-ins per second with `callers` at once for `seconds`.
async fn sign_ins(server: &Arc<TestServer>, callers: usize, seconds: u64) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (server, count) = (server.clone(), count.clone());
            tokio::spawn(async move {
                let client = server.raw();
                while Instant::now() < deadline {
                    sign_in(&client, &server).await;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Sign-ins per second from wrk (as bench-tokens drives the server: C, two
/// threads, `callers` connections, TLS 1.3), when wrk is installed.
fn sign_ins_wrk(server: &TestServer, callers: usize, seconds: u64) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let script = dir.path().join("sign_in.lua");
    let body = json!({"email": "sam@example.com", "password": PASSWORD}).to_string();
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = '{body}'\n"
        ),
    )
    .ok()?;
    let out = std::process::Command::new("wrk")
        .args(["-t2", &format!("-c{callers}"), &format!("-d{seconds}s")])
        .arg("-s")
        .arg(&script)
        .arg(server.url("/v1/auth/password"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        panic!("wrk saw refusals: {text}");
    }
    text.lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// Refresh rotations per second: one chain per caller.
async fn rotations(server: &Arc<TestServer>, callers: usize, seconds: u64) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let mut firsts = Vec::new();
    let client = server.raw();
    for _ in 0..callers {
        firsts.push(
            sign_in(&client, server).await["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = firsts
        .into_iter()
        .map(|first| {
            let (server, count) = (server.clone(), count.clone());
            tokio::spawn(async move {
                let client = server.raw();
                let mut token = first;
                while Instant::now() < deadline {
                    let response = client
                        .post(server.url("/v1/auth/refresh"))
                        .json(&json!({"refresh_token": token}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    let next: Value = response.json().await.unwrap();
                    token = next["refresh_token"].as_str().unwrap().to_owned();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// 1,000 sign-ins at once; `/healthz` asked every 100 ms meanwhile. Returns
/// (seconds for all, slowest `/healthz`, peak RSS in MiB before and after).
async fn thousand_at_once(server: &Arc<TestServer>) -> (f64, Duration, f64, f64) {
    let before = peak_rss_mib();
    let started = Instant::now();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move {
                let client = server.raw();
                sign_in(&client, &server).await;
            })
        })
        .collect();
    let slowest_us = Arc::new(AtomicU64::new(0));
    let probe = {
        let (server, slowest_us) = (server.clone(), slowest_us.clone());
        tokio::spawn(async move {
            let client = server.raw();
            loop {
                let t = Instant::now();
                let status = client
                    .get(server.url("/healthz"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 200);
                let took = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                slowest_us.fetch_max(took, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    let all = started.elapsed().as_secs_f64();
    probe.abort();
    let slowest = Duration::from_micros(slowest_us.load(Ordering::Relaxed));
    (all, slowest, before, peak_rss_mib())
}

fn main() {
    let seconds = env("BENCH_SECONDS", 10);
    let callers = env("BENCH_CONNECTIONS", 16) as usize;
    let rounds = env("BENCH_ROUNDS", 2);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The anonymous limit off (as in bench-tokens): every caller here is one
    // source, and sign-ins carry no bearer credential.
    // So are the per-source connection cap and the global one raised: the
    // 1,000 callers each open their own connection from this one address.
    let server = Arc::new(runtime.block_on(TestServer::start_with(Db::Sqlite, |c| {
        c.anonymous.requests_per_window = 0;
        c.listener.max_connections_per_source = 2048;
        c.max_connections = 2048;
    })));
    runtime.block_on(seed(&server));
    // The thousand first, on a fresh server: its memory before is the
    // server's (and this process's callers') at rest.
    let (all, slowest, before, after) = runtime.block_on(thousand_at_once(&server));
    println!(
        "{cores} cores; {callers} callers; {seconds} s per line; Argon2id m=19456 KiB, t=2, p=1"
    );
    println!(
        "1,000 sign-ins at once: all done in {all:.1} s; slowest /healthz meanwhile {:.0} ms; peak RSS {before:.0} MiB before, {after:.0} MiB after",
        slowest.as_secs_f64() * 1000.0
    );
    println!("| round | raw Argon2id verifies/s ({cores} threads) | sign-ins/s, reqwest callers | ratio | sign-ins/s, wrk | ratio | one at a time: raw verify, sign-in | ratio | refresh rotations/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for round in 1..=rounds {
        let raw = raw_verifies(cores, seconds);
        let signed = runtime.block_on(sign_ins(&server, callers, seconds));
        let by_wrk = sign_ins_wrk(&server, callers, seconds);
        // One at a time: a single raw verify against a single sign-in, each
        // alone on the machine (no load generator competing for the cores).
        let raw_one = raw_verifies(1, seconds);
        let signed_one = runtime.block_on(sign_ins(&server, 1, seconds));
        let rotated = runtime.block_on(rotations(&server, callers, seconds));
        println!(
            "| {round} | {raw:.1} ({:.1} per core) | {signed:.1} ({:.1} per core) | {:.2} | {} | {} | {:.1} ms, {:.1} ms | {:.2} | {rotated:.0} |",
            raw / cores as f64,
            signed / cores as f64,
            raw / signed,
            by_wrk.map_or("no wrk".into(), |w| format!("{w:.1} ({:.1} per core)", w / cores as f64)),
            by_wrk.map_or("-".into(), |w| format!("{:.2}", raw / w)),
            1000.0 / raw_one,
            1000.0 / signed_one,
            raw_one / signed_one,
        );
    }
}
