//! A request whose client goes away mid-way (an HTTP/2 stream reset, a closed
//! connection: hyper then drops the request's future) is still recorded (AU-1,
//! AU-7). The drop is made here directly on the application, where it can be
//! timed exactly: while the handler waits for a body that has not arrived.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use gatehouse_server::clock::ManualClock;
use gatehouse_server::config::Config;
use gatehouse_testkit::{on_both_databases, Db};
use tower::ServiceExt;

// proves: AU-1
async fn a_request_dropped_mid_way_is_still_recorded(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let store = db.open_store(&config.data_dir).await;
    let prepared = gatehouse_server::prepare_with_store(config.clone(), store.clone()).unwrap();
    let clock: Arc<ManualClock> = Arc::new(ManualClock::new(chrono::Utc::now()));
    let admin = gatehouse_server::init(&prepared, clock.as_ref(), false)
        .await
        .unwrap()
        .admin_token;
    let router = gatehouse_server::application(
        &config,
        store,
        prepared.sealer.clone(),
        clock,
        "https://gatehouse.test",
    )
    .await
    .unwrap();

    // A body that has sent one byte and then waits.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(b"{".to_vec())).await.unwrap();
    let body = Body::from_stream(tokio_stream_of(rx));
    let request = http::Request::post("/v1/audit/events")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let pending = router.clone().oneshot(request);
    // The client goes away while the handler waits for the rest of the body.
    assert!(tokio::time::timeout(Duration::from_millis(300), pending)
        .await
        .is_err());
    drop(tx);

    // Its record is written all the same (a malformed body: the stream ended).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let search = http::Request::get("/v1/audit/events?action=audit.ingest")
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(search).await.unwrap();
        assert_eq!(response.status(), 200);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let page: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let items = page["items"].as_array().unwrap();
        if let Some(record) = items.first() {
            assert_eq!(record["status"], 400);
            assert_eq!(record["details"]["error"], "malformed_json");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped request was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

on_both_databases!(a_request_dropped_mid_way_is_still_recorded);
