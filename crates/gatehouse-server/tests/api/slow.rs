//! OP-4, GW-4 (slow-loris): connections cannot be held open or starve the server.
//! Attackers from 127.0.0.1 hold connections every way a client can by doing
//! little; a legitimate client on 127.0.0.2 must still be served, and every
//! attacker must be cut within the configured deadlines.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_testkit::{Db, TestServer};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

const HANDSHAKE: u64 = 2;
const HEADERS: u64 = 2;
const BODY_GRACE: u64 = 1;
/// Longer than `HEADERS + SLACK`: what HTTP/1 gets between requests is the header
/// deadline, not this.
const IDLE: u64 = 8;
/// Beyond its deadline, how late a cut may come on a loaded two-core machine.
const SLACK: Duration = Duration::from_secs(4);
/// How long an attacker waits to be cut before the test calls it held open.
const GIVE_UP: Duration = Duration::from_secs(15);
const LEGIT: &str = "127.0.0.2";

fn short_deadlines(server: &mut gatehouse_server::config::Config) {
    server.tls_handshake_timeout_seconds = HANDSHAKE;
    server.listener.header_read_timeout_seconds = HEADERS;
    server.listener.body_grace_seconds = BODY_GRACE;
    server.listener.idle_timeout_seconds = IDLE;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// TCP connected, no ClientHello.
    IdleTcp,
    /// TLS handshaken (HTTP/1.1), then nothing.
    SilentTls,
    /// TLS handshaken with ALPN h2, then nothing (not even the preface).
    SilentH2,
    /// A request head, one byte a second.
    TrickledHead,
    /// One whole request answered, then the next head one byte a second.
    TrickledSecondHead,
    /// A whole head, then the body a few bytes a second.
    TrickledBody,
    /// One HTTP/2 request answered, then nothing (not even a PING's answer).
    IdleH2,
}

const KINDS: [Kind; 7] = [
    Kind::IdleTcp,
    Kind::SilentTls,
    Kind::SilentH2,
    Kind::TrickledHead,
    Kind::TrickledSecondHead,
    Kind::TrickledBody,
    Kind::IdleH2,
];

impl Kind {
    /// The deadline that must cut it, from the moment it is served.
    fn deadline(self) -> Duration {
        Duration::from_secs(match self {
            Kind::IdleTcp => HANDSHAKE,
            // HTTP/2 closed for idling gets a second to take its GOAWAY.
            Kind::SilentH2 => HEADERS + 1,
            Kind::IdleH2 => IDLE + 1,
            Kind::SilentTls | Kind::TrickledHead | Kind::TrickledSecondHead => HEADERS,
            Kind::TrickledBody => BODY_GRACE,
        })
    }
}

#[derive(Debug)]
struct Outcome {
    kind: Kind,
    /// Whether the server took the connection (handshook it), rather than closing
    /// it at once.
    is_served: bool,
    /// From served (or connected) to closed by the server; `None`: still open.
    closed_after: Option<Duration>,
    answer: Vec<u8>,
}

struct Target {
    addr: SocketAddr,
    http1: TlsConnector,
    http2: TlsConnector,
    token: String,
}

impl Target {
    fn new(server: &TestServer) -> Arc<Self> {
        let verifier =
            Arc::new(gatehouse_client::PinnedVerifier::new(&server.fingerprint).unwrap());
        let with_alpn = |alpn: &[u8]| {
            let mut config = gatehouse_client::client_config(Some(verifier.clone())).unwrap();
            config.alpn_protocols = vec![alpn.to_vec()];
            TlsConnector::from(Arc::new(config))
        };
        Arc::new(Self {
            addr: server
                .base_url
                .trim_start_matches("https://")
                .parse()
                .unwrap(),
            http1: with_alpn(b"http/1.1"),
            http2: with_alpn(b"h2"),
            token: server.admin_token.clone(),
        })
    }

    async fn tls(&self, connector: &TlsConnector) -> Option<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        match timeout(Duration::from_secs(10), connector.connect(name, tcp)).await {
            Ok(Ok(tls)) => Some(tls),
            _ => None,
        }
    }
}

/// Reads until the server closes (EOF or error), for at most [`GIVE_UP`].
async fn until_closed(reader: &mut (impl AsyncRead + Unpin), answer: &mut Vec<u8>) -> bool {
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    timeout(GIVE_UP, read).await.is_ok()
}

/// Reads one HTTP/1.1 response with a `content-length`; `None` if the connection
/// closes first.
async fn read_response(reader: &mut (impl AsyncRead + Unpin)) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if answer.len() >= end + 4 + length {
                return Some(answer);
            }
        }
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

async fn attack(target: Arc<Target>, kind: Kind) -> Outcome {
    let refused = |kind| Outcome {
        kind,
        is_served: false,
        closed_after: Some(Duration::ZERO),
        answer: Vec::new(),
    };
    let mut answer = Vec::new();
    if kind == Kind::IdleTcp {
        let mut tcp = TcpStream::connect(target.addr).await.unwrap();
        let started = Instant::now();
        let is_closed = until_closed(&mut tcp, &mut answer).await;
        return Outcome {
            kind,
            is_served: true,
            closed_after: is_closed.then(|| started.elapsed()),
            answer,
        };
    }
    let connector = match kind {
        Kind::SilentH2 | Kind::IdleH2 => &target.http2,
        _ => &target.http1,
    };
    let Some(tls) = target.tls(connector).await else {
        return refused(kind);
    };
    let (mut reader, mut writer) = tokio::io::split(tls);
    let (head, every, drip): (String, u64, &[u8]) = match kind {
        Kind::TrickledHead | Kind::TrickledSecondHead => (
            "GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-slow: ".into(),
            1000,
            b"a",
        ),
        Kind::TrickledBody => (
            format!(
                "POST /v1/audit/events HTTP/1.1\r\nhost: localhost\r\n\
                 authorization: Bearer {}\r\ncontent-type: application/json\r\n\
                 content-length: 100000\r\n\r\n[",
                target.token
            ),
            500,
            b"    ",
        ),
        _ => (String::new(), 0, b""),
    };
    // A first request that does not get through (the client starved of CPU past
    // the header deadline) is no attack on the second; count it as turned away.
    if kind == Kind::IdleH2 && writer.write_all(&h2_get_healthz()).await.is_err() {
        return refused(kind);
    }
    if kind == Kind::TrickledSecondHead {
        let request = b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n";
        if writer.write_all(request).await.is_err() {
            return refused(kind);
        }
        let Some(first) = read_response(&mut reader).await else {
            return refused(kind);
        };
        assert!(first.starts_with(b"HTTP/1.1 200"), "{first:?}");
    }
    let started = Instant::now();
    let dripping = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() || every == 0 {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(every)).await;
            if writer.write_all(drip).await.is_err() {
                return std::future::pending().await;
            }
        }
    });
    let is_closed = until_closed(&mut reader, &mut answer).await;
    dripping.abort();
    Outcome {
        kind,
        is_served: true,
        closed_after: is_closed.then(|| started.elapsed()),
        answer,
    }
}

/// An HTTP/2 client's first flight by hand: the preface, empty SETTINGS, and
/// `GET /healthz` as one HEADERS frame (HPACK: indexed `:method GET` and `:scheme
/// https`, literal `:path` and `:authority`) that ends the stream.
fn h2_get_healthz() -> Vec<u8> {
    let mut block = vec![0x82, 0x87, 0x44, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x41, 9]);
    block.extend_from_slice(b"localhost");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
    let len = block.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    // HEADERS, END_STREAM | END_HEADERS, stream 1.
    out.extend_from_slice(&[0x1, 0x5, 0, 0, 0, 1]);
    out.extend_from_slice(&block);
    out
}

/// The (type, stream) of each whole HTTP/2 frame in `bytes`.
fn h2_frames(bytes: &[u8]) -> Vec<(u8, u32)> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 9 {
        let len = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]) & 0x7fff_ffff;
        frames.push((rest[3], stream));
        rest = rest.get(9 + len..).unwrap_or_default();
    }
    frames
}

/// A client on another source address, on a new connection each time.
fn legitimate(server: &TestServer) -> reqwest::Client {
    let verifier = Arc::new(gatehouse_client::PinnedVerifier::new(&server.fingerprint).unwrap());
    reqwest::Client::builder()
        .use_preconfigured_tls(gatehouse_client::client_config(Some(verifier)).unwrap())
        .local_address(LEGIT.parse::<IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

// proves: OP-4 (and GW-4's slow-loris: header and body deadlines, connection caps)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_neither_starve_the_server_nor_stay_open() {
    const PER_KIND: usize = 50;
    // More attackers than the global cap; their source may hold most of it, not all.
    let server = TestServer::start_with(Db::Sqlite, |c| {
        short_deadlines(c);
        c.max_connections = 200;
        c.listener.max_connections_per_source = 150;
    })
    .await;
    let target = Target::new(&server);
    let mut attackers = Vec::new();
    for kind in (0..PER_KIND).flat_map(|_| KINDS) {
        attackers.push(tokio::spawn(attack(target.clone(), kind)));
        // Two milliseconds apart (0.7 s for all): 350 SYNs at once overflow the
        // listen queue and the kernel answers with SYN cookies, and a cookie
        // connection whose last ACK finds the accept queue full exists on the
        // client's side only; an idle client never learns it is gone, so the
        // test would count a connection the server never saw as held open.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Let them connect and settle in, then ask for /healthz, on a new connection
    // each time, while they hold on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = legitimate(&server);
    let mut answers = Vec::new();
    for _ in 0..6 {
        let asked = Instant::now();
        let answer = client.get(server.url("/healthz")).send().await;
        answers.push((answer.map(|r| r.status().as_u16()), asked.elapsed()));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut outcomes = Vec::new();
    for attacker in attackers {
        outcomes.push(attacker.await.unwrap());
    }
    for kind in KINDS {
        let of_kind: Vec<_> = outcomes.iter().filter(|o| o.kind == kind).collect();
        let served = of_kind.iter().filter(|o| o.is_served).count();
        let open = of_kind.iter().filter(|o| o.closed_after.is_none()).count();
        let slowest = of_kind.iter().filter_map(|o| o.closed_after).max();
        eprintln!("{kind:?}: {served} served, {open} left open, slowest cut {slowest:?}");
    }
    eprintln!("legitimate /healthz from {LEGIT}: {answers:?}");

    for (answer, took) in &answers {
        assert!(
            matches!(answer, Ok(200)),
            "legitimate client not served: {answer:?} after {took:?}"
        );
    }
    for outcome in &outcomes {
        let limit = outcome.kind.deadline() + SLACK;
        let Some(after) = outcome.closed_after else {
            panic!("{:?} held its connection open", outcome.kind);
        };
        assert!(after <= limit, "{:?} cut after {after:?}", outcome.kind);
        if outcome.kind == Kind::TrickledBody && !outcome.answer.is_empty() {
            let text = String::from_utf8_lossy(&outcome.answer);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        }
        if outcome.kind == Kind::IdleH2 && outcome.is_served {
            // Answered on stream 1 (HEADERS), then told to go away (GOAWAY).
            let frames = h2_frames(&outcome.answer);
            assert!(frames.contains(&(0x1, 1)), "{frames:?}");
            assert!(frames.contains(&(0x7, 0)), "{frames:?}");
            assert!(after >= Duration::from_secs(IDLE), "{after:?}");
        }
    }
    // Each way of holding on was really tried, not only refused at the door.
    for kind in KINDS {
        assert!(
            outcomes.iter().any(|o| o.kind == kind && o.is_served),
            "no {kind:?} attacker was served"
        );
    }
    server.stop().await;
}

// proves: OP-4 (the per-source cap)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_over_its_cap_is_refused_and_others_are_not() {
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.listener.max_connections_per_source = 5;
    })
    .await;
    let target = Target::new(&server);
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(target.tls(&target.http1).await.expect("under the cap"));
    }
    assert!(
        target.tls(&target.http1).await.is_none(),
        "a sixth connection from one source must be closed at once"
    );
    let answer = legitimate(&server)
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "another source still connects");
    // A closed connection gives its place back.
    drop(held.pop());
    let mut is_admitted = false;
    for _ in 0..50 {
        if target.tls(&target.http1).await.is_some() {
            is_admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(is_admitted, "a freed place is given to its source again");
    server.stop().await;
}

// proves: OP-4 (a body under the minimum rate is cut, answered in the one error shape)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_answered_408_request_timeout() {
    let server = TestServer::start_with(Db::Sqlite, short_deadlines).await;
    let target = Target::new(&server);
    let started = Instant::now();
    let outcome = attack(target, Kind::TrickledBody).await;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&outcome.answer).into_owned();
    assert!(outcome.closed_after.is_some(), "still open after {took:?}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let error: gatehouse_types::ApiError = serde_json::from_str(body).unwrap();
    assert_eq!(error.code, gatehouse_types::ErrorCode::RequestTimeout);
    assert!(text
        .to_ascii_lowercase()
        .contains(&format!("x-request-id: {}", error.request_id)));
    assert!(took < Duration::from_secs(BODY_GRACE) + SLACK, "{took:?}");
    server.stop().await;
}
