//! `make bench-gateway-limits` (issue 16's memory and slow-loris targets):
//!
//! 1. **A million sources.** 1,000,000 requests, each from a source address of
//!    its own (10.0.0.0/8), through the whole pipeline (limits, rate, bots,
//!    the token check, the decision, the proxy to a real upstream; the WAF
//!    off, so the million take minutes, not an hour), in-process (no sockets:
//!    a million TLS handshakes would measure the handshakes). Every 1,000th
//!    request comes from one hot source instead, over its quota. Measured:
//!    the process's resident memory before and after, and how many of the hot
//!    source's requests passed against its quota.
//! 2. **Slow loris.** 500 connections over TLS (from 10 loopback addresses:
//!    the listener's per-source cap is 64) each sending a request head a byte
//!    every 500 ms; measured: when each is closed, against the header
//!    deadline (2 s here), and a legitimate client's p99 meanwhile against
//!    its p99 alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_gateway::{Gateway, GatewayConfig, WafMode};
use gatehouse_listener::PeerAddr;
use http_body_util::Full;

fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

const QUOTA: u32 = 100;

/// Sends `count` requests, from `count` distinct sources when `distinct`,
/// else from 1,000 sources in turn; every 1,000th from the hot source.
/// Returns (hot sent, hot passed).
async fn send_all(
    gateway: &Arc<Gateway>,
    host: &Arc<harness::TestHost>,
    count: u32,
    distinct: bool,
    base: u32,
) -> (u32, u32) {
    let hot = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let (mut hot_sent, mut hot_passed) = (0u32, 0u32);
    let mut tasks = tokio::task::JoinSet::new();
    let mut tally = |r: Option<Result<(bool, u16), tokio::task::JoinError>>| {
        if let Some(Ok((true, status))) = r {
            hot_sent += 1;
            hot_passed += u32::from(status == 200);
        }
    };
    for i in 0..count {
        let source = if i % 1000 == 999 {
            hot
        } else if distinct {
            IpAddr::V4(Ipv4Addr::from(base + i))
        } else {
            IpAddr::V4(Ipv4Addr::from(base + i % 1000))
        };
        let gateway = gateway.clone();
        tasks.spawn(async move {
            let mut request = http::Request::builder()
                .uri("/api/patients")
                .header("authorization", format!("Bearer {}", harness::ALICE))
                .header("accept", "application/json")
                .header("user-agent", "bench/1")
                .body(Full::new(bytes::Bytes::new()))
                .unwrap();
            request
                .extensions_mut()
                .insert(PeerAddr(SocketAddr::new(source, 40000)));
            (
                source == hot,
                gateway.handle(request).await.status().as_u16(),
            )
        });
        // Keep the records the test host holds from growing the process.
        if i % 10_000 == 0 {
            host.records.lock().unwrap().clear();
            host.postures.lock().unwrap().clear();
        }
        while tasks.len() >= 64 {
            tally(tasks.join_next().await);
        }
    }
    while !tasks.is_empty() {
        tally(tasks.join_next().await);
    }
    host.records.lock().unwrap().clear();
    host.postures.lock().unwrap().clear();
    (hot_sent, hot_passed)
}

async fn million_sources(sources: u32) {
    let upstream = harness::upstream().await;
    let mut route = harness::route("records", "/api", upstream.addr);
    route.rate_per_minute = Some(QUOTA);
    let mut config = GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        routes: vec![route],
        waf: Default::default(),
        waf_threads: 1,
        rate: Default::default(),
        honeypots: Default::default(),
        bots: Default::default(),
        upstream: Default::default(),
    };
    config.waf.mode = WafMode::Off;
    // One token sends them all: its own quota is not what is measured here.
    config.rate.per_identity_per_minute = u32::MAX;
    let waf = Arc::new(
        gatehouse_gateway::waf::modsec::ModSecurityWaf::start(config.waf.clone(), 1, 64).unwrap(),
    );
    let host = Arc::new(harness::TestHost {
        records: std::sync::Mutex::new(Vec::new()),
        postures: std::sync::Mutex::new(Vec::new()),
        now_us: std::sync::atomic::AtomicI64::new(1_800_000_000_000_000),
    });
    let gateway =
        Gateway::new(config, waf, host.clone(), "127.0.0.1:8443".parse().unwrap()).unwrap();
    // First the same number of requests from 1,000 sources (what a million
    // requests cost the process whoever sends them: tasks, buffers), then a
    // million from distinct sources: the growth between is what the sources cost.
    let start = rss_mib("VmRSS:");
    let t = Instant::now();
    let (warm_sent, warm_passed) = send_all(&gateway, &host, sources, false, 0x0b00_0000).await;
    let warm_secs = t.elapsed().as_secs_f64();
    let before = rss_mib("VmRSS:");
    // The next window, so the hot source starts from nothing (a minute later).
    host.now_us.fetch_add(120_000_000, Ordering::SeqCst);
    let t = Instant::now();
    let (hot_sent, hot_passed) = send_all(&gateway, &host, sources, true, 0x0a00_0000).await;
    let after = rss_mib("VmRSS:");
    println!(
        "{sources} requests from 1,000 sources: {warm_secs:.1} s, RSS {start:.1} -> {before:.1} MiB (the hot source: {warm_passed} of {warm_sent} passed)"
    );
    println!(
        "{sources} requests from {} distinct sources: {:.1} s ({} reached the upstream in all); RSS {before:.1} -> {after:.1} MiB \
         (+{:.1} MiB), peak {:.1} MiB; rate sketches {:.1} MiB; the hot source: {hot_passed} of {hot_sent} passed against a quota of {QUOTA} ({:+.1} %)",
        sources - sources / 1000 + 1,
        t.elapsed().as_secs_f64(),
        upstream.hits.load(Ordering::Relaxed),
        after - before,
        rss_mib("VmHWM:"),
        gateway.sketch_bytes() as f64 / 1_048_576.0,
        (f64::from(hot_passed) - f64::from(QUOTA)) / f64::from(QUOTA) * 100.0,
    );
}

async fn one_request(h: &harness::Harness) -> Duration {
    let t = Instant::now();
    let (status, _, _) = h.send(h.get("/api/patients")).await;
    assert_eq!(status, 200);
    t.elapsed()
}

fn p99(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * 0.99).round() as usize].as_secs_f64() * 1000.0
}

async fn slow_loris(connections: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = harness::start(
        |up| vec![harness::route("records", "/api", up)],
        |c| {
            c.waf.mode = WafMode::Off;
            c.rate.per_source_per_minute = 1_000_000;
        },
    )
    .await;
    let mut alone = Vec::new();
    for _ in 0..300 {
        alone.push(one_request(&h).await);
    }
    let (addr, tls) = h.raw_parts();
    let opened = Instant::now();
    let mut lorises = tokio::task::JoinSet::new();
    for i in 0..connections {
        let tls = tls.clone();
        lorises.spawn(async move {
            let local =
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (i % 10) as u8)), 0);
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(local).unwrap();
            let tcp = socket.connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .unwrap();
            let start = Instant::now();
            let head = b"GET /api/patients HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
            let mut buf = [0u8; 64];
            for byte in head.iter().cycle() {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await
                {
                    Ok(Ok(0) | Err(_)) => break,
                    Ok(Ok(_)) => break,
                    Err(_) => {}
                }
                if start.elapsed() > Duration::from_secs(30) {
                    break;
                }
            }
            start.elapsed()
        });
    }
    // The legitimate client while they trickle.
    let mut loaded = Vec::new();
    for _ in 0..300 {
        loaded.push(one_request(&h).await);
    }
    let mut closed = Vec::new();
    while let Some(Ok(d)) = lorises.join_next().await {
        closed.push(d);
    }
    closed.sort();
    let last = closed.last().copied().unwrap_or_default();
    println!(
        "{} slow connections (a byte every 500 ms; header deadline 2 s): all closed, the last after {:.2} s \
         (target: deadline + 1 s = 3 s; {:.1} s from the first opening); a legitimate client's p99 {:.2} ms alone, \
         {:.2} ms meanwhile ({:.2}x; target 2x)",
        closed.len(),
        last.as_secs_f64(),
        opened.elapsed().as_secs_f64(),
        p99(alone.clone()),
        p99(loaded.clone()),
        p99(loaded) / p99(alone),
    );
}

fn main() {
    let sources: u32 = std::env::var("BENCH_SOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let lorises: usize = std::env::var("BENCH_LORISES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(million_sources(sources));
    runtime.block_on(slow_loris(lorises));
}
