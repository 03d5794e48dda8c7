//! AU-7: nothing acknowledged is lost. Services ingest audit events while the
//! server is killed with SIGKILL mid-stream; after a restart every event that was
//! acknowledged is in the trail, none twice, and the chain verifies, online and
//! offline.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::serve::{curl, serve, sigterm};
use crate::{field, gatehouse, stderr, stdout};

const WRITERS: usize = 3;
const BATCH: usize = 50;

fn post(url: &str, token: &str, body: &str) -> Option<serde_json::Value> {
    let out = curl(&[
        "-k",
        "-X",
        "POST",
        "-H",
        &format!("authorization: Bearer {token}"),
        "-H",
        "content-type: application/json",
        "--data-binary",
        body,
        "-w",
        "\n%{http_code}",
        url,
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n')?;
    if !(out.status.success() && (code == "200" || code == "201")) {
        return None;
    }
    serde_json::from_str(body).ok()
}

fn get(url: &str, token: &str) -> String {
    let out = curl(&["-k", "-H", &format!("authorization: Bearer {token}"), url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn acknowledged_events_survive_sigkill_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let init = gatehouse(&["init"], &[("GATEHOUSE_DATA_DIR", data)]);
    assert!(init.status.success(), "{}", stderr(&init));
    let admin = field(&stdout(&init), "administrator token:");

    let mut served = serve(data);
    let base = format!("https://{}", served.addr);
    let minted = post(
        &format!("{base}/v1/api-tokens"),
        &admin,
        r#"{"name":"orders service","role":"service"}"#,
    )
    .expect("mint a service token");
    let service = minted["secret"].as_str().unwrap().to_owned();

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop, url, token) = (
                acked.clone(),
                stop.clone(),
                format!("{base}/v1/audit/events"),
                service.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let ids: Vec<String> = (0..BATCH).map(|i| format!("w{w}-b{n}-e{i}")).collect();
                    let events: Vec<serde_json::Value> = ids
                        .iter()
                        .map(|id| {
                            serde_json::json!({
                                "event_id": id, "action": "order.create", "outcome": "success",
                                "resource": {"type": "order", "id": id}
                            })
                        })
                        .collect();
                    let body = serde_json::json!({ "events": events }).to_string();
                    if let Some(answer) = post(&url, &token, &body) {
                        let stored = answer["accepted"].as_u64().unwrap_or(0)
                            + answer["duplicates"].as_u64().unwrap_or(0);
                        assert_eq!(stored, BATCH as u64, "{answer}");
                        acked.lock().unwrap().extend(ids);
                    }
                    n += 1;
                }
            })
        })
        .collect();

    // Kill once a good number of batches were acknowledged, mid-stream.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 20 * BATCH && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = served.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let _ = served.child.wait();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20 * BATCH,
        "only {} acknowledged",
        acked.len()
    );

    let mut again = serve(data);
    let base = format!("https://{}", again.addr);
    let export = get(
        &format!("{base}/v1/audit/export?format=jsonl&action=order.create"),
        &admin,
    );
    let mut stored = HashSet::new();
    for line in export.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = record["event_id"].as_str().unwrap().to_owned();
        assert!(stored.insert(id.clone()), "event {id} stored twice");
    }
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );

    let verify: serde_json::Value =
        serde_json::from_str(&get(&format!("{base}/v1/audit/verify"), &admin)).unwrap();
    assert_eq!(verify["is_intact"], true, "{verify}");
    assert!(sigterm(&mut again).success());

    let offline = gatehouse(&["audit", "verify"], &[("GATEHOUSE_DATA_DIR", data)]);
    assert!(
        offline.status.success(),
        "{}{}",
        stdout(&offline),
        stderr(&offline)
    );
    assert!(stdout(&offline).contains("intact"), "{}", stdout(&offline));
}
