//! The gateway's WAF settings on both backends (GW-4): versions written with
//! their record, the newest read back, a version number written twice refused.

use gatehouse_store::{StoreError, WafSettingsRow};

use super::{record, sealer, stores};

fn version(n: i64, mode: &str) -> WafSettingsRow {
    WafSettingsRow {
        version: n,
        settings: format!("{{\"mode\":\"{mode}\"}}"),
        author: "admin (t1)".into(),
        created_at_us: n * 10,
    }
}

#[tokio::test]
async fn versions_are_kept_with_their_record_and_never_written_twice() {
    // proves: GW-4
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let waf = store.waf_settings();
        assert_eq!(waf.latest_waf_settings().await.unwrap(), None, "{b:?}");
        let first = version(1, "blocking");
        waf.create_waf_settings(&first, &record("admin", "gateway.waf.update", 10), &sealer)
            .await
            .unwrap();
        let second = version(2, "detect_only");
        waf.create_waf_settings(&second, &record("admin", "gateway.waf.update", 20), &sealer)
            .await
            .unwrap();
        assert_eq!(
            waf.latest_waf_settings().await.unwrap(),
            Some(second.clone()),
            "{b:?}"
        );
        // Two administrators saving at once: one version 3, the other refused,
        // and its record not written either.
        let racing = waf
            .create_waf_settings(
                &version(2, "off"),
                &record("other", "gateway.waf.update", 30),
                &sealer,
            )
            .await;
        assert!(
            matches!(racing, Err(StoreError::Conflict)),
            "{b:?}: {racing:?}"
        );
        assert_eq!(
            waf.latest_waf_settings().await.unwrap(),
            Some(second),
            "{b:?}"
        );
        let trail = store
            .audit()
            .search(&Default::default(), 100)
            .await
            .unwrap();
        assert_eq!(trail.len(), 2, "{b:?}");
        store.close().await;
    }
}
