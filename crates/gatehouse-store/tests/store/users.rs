//! Users, user types and registration flows on both backends (ID-2, ID-3):
//! each change commits with its record, contact points are unique, and filters
//! find users by type, status, attribute, entitlement and prefix, a keyset page
//! at a time.

use gatehouse_store::{FlowRow, Store, StoreError, UserFilter, UserRow, UserTypeRow, UserUpdated};

use super::{assert_verifies, record, sealer, stores};

fn user(id: &str, user_type: &str, email: Option<&str>) -> UserRow {
    UserRow {
        id: id.into(),
        user_type: user_type.into(),
        status: "active".into(),
        display_name: format!("Name {id}"),
        search_name: format!("name {id}"),
        email: email.map(Into::into),
        is_email_verified: true,
        phone: None,
        is_phone_verified: false,
        attributes: r#"{"department":"icu","wards":["a1","b2"]}"#.into(),
        entitlements: r#"["records:read"]"#.into(),
        source: "local".into(),
        directory_dn: None,
        created_at_us: 10,
        created_by: "admin".into(),
        updated_at_us: 10,
        recent_failures: "[]".into(),
        locked_until_us: None,
    }
}

async fn with_types(store: &dyn Store) {
    let sealer = sealer(1000);
    for name in ["clinician", "patient"] {
        let row = UserTypeRow {
            name: name.into(),
            definition: format!("{{\"name\":\"{name}\"}}"),
            created_at_us: 5,
            updated_at_us: 5,
        };
        store
            .user_types()
            .put_type(&row, &|_, _| record("admin", "user_types.put", 5), &sealer)
            .await
            .unwrap();
    }
}

fn ids(rows: &[UserRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
async fn types_and_flows_are_replaced_with_their_record_and_a_flow_needs_its_type() {
    // proves: ID-2
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_types(store.as_ref()).await;
        let types = store.user_types();
        let seen = std::sync::Mutex::new(Vec::new());
        let changed = UserTypeRow {
            name: "clinician".into(),
            definition: "{\"v\":2}".into(),
            created_at_us: 99,
            updated_at_us: 20,
        };
        let audit = |before: Option<&str>, after: &str| {
            seen.lock()
                .unwrap()
                .push((before.map(str::to_owned), after.to_owned()));
            record("admin", "user_types.put", 20)
        };
        types.put_type(&changed, &audit, &sealer).await.unwrap();
        let found = types.find_type("clinician").await.unwrap().unwrap();
        assert_eq!(found.definition, "{\"v\":2}", "{b:?}");
        assert_eq!(
            found.created_at_us, 5,
            "a replacement keeps the creation time"
        );
        assert_eq!(
            seen.lock().unwrap().clone(),
            vec![(
                Some("{\"name\":\"clinician\"}".to_owned()),
                "{\"v\":2}".to_owned()
            )]
        );
        assert_eq!(types.list_types().await.unwrap().len(), 2);

        let flow = FlowRow {
            user_type: "patient".into(),
            definition: "{\"proofs\":[\"email\"]}".into(),
            updated_at_us: 30,
        };
        let audit = |_: Option<&str>, _: &str| record("admin", "registration_flows.put", 30);
        types.put_flow(&flow, &audit, &sealer).await.unwrap();
        assert_eq!(types.find_flow("patient").await.unwrap(), Some(flow));
        let orphan = FlowRow {
            user_type: "nobody".into(),
            definition: "{}".into(),
            updated_at_us: 30,
        };
        assert!(matches!(
            types.put_flow(&orphan, &audit, &sealer).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(types.list_flows().await.unwrap().len(), 1);
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn contact_points_are_unique_and_a_conflict_writes_nothing() {
    // proves: ID-3
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_types(store.as_ref()).await;
        let users = store.users();
        let rec = record("admin", "users.create", 10);
        users
            .create(
                &user("u1", "clinician", Some("ann@example.com")),
                &rec,
                &sealer,
            )
            .await
            .unwrap();
        let taken = users
            .create(
                &user("u2", "clinician", Some("ann@example.com")),
                &rec,
                &sealer,
            )
            .await;
        assert!(matches!(taken, Err(StoreError::Conflict)), "{b:?}");
        assert!(users.find("u2").await.unwrap().is_none());
        let mut with_phone = user("u3", "patient", None);
        with_phone.phone = Some("+447700900123".into());
        users.create(&with_phone, &rec, &sealer).await.unwrap();
        assert_eq!(
            users
                .find_by_phone("+447700900123")
                .await
                .unwrap()
                .map(|u| u.id),
            Some("u3".to_owned())
        );
        // An update that takes another's address is refused whole.
        let edit = |row: &UserRow| {
            let mut next = row.clone();
            next.email = Some("ann@example.com".into());
            next.attributes = "{}".into();
            Some(next)
        };
        let audit = |_: &UserRow, _: &UserRow| record("admin", "users.update", 20);
        assert!(matches!(
            users.update("u3", &edit, &audit, i64::MAX, &sealer).await,
            Err(StoreError::Conflict)
        ));
        let u3 = users.find("u3").await.unwrap().unwrap();
        assert_eq!(u3.email, None);
        let by_attr = UserFilter {
            attribute: Some(("department".into(), "icu".into())),
            limit: 10,
            ..UserFilter::default()
        };
        assert_eq!(ids(&users.list(&by_attr).await.unwrap()), vec!["u1", "u3"]);
        // A user of an unknown type cannot exist.
        assert!(users
            .create(&user("u4", "martian", None), &rec, &sealer)
            .await
            .is_err());
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn filters_find_by_type_status_attribute_entitlement_and_prefix_a_page_at_a_time() {
    // proves: ID-3
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_types(store.as_ref()).await;
        let users = store.users();
        let rec = record("admin", "users.create", 10);
        for i in 0..12 {
            let kind = if i % 3 == 0 { "patient" } else { "clinician" };
            let mut row = user(
                &format!("u{i:02}"),
                kind,
                Some(&format!("p{i}@example.com")),
            );
            if i % 4 == 0 {
                row.status = "disabled".into();
            }
            if i == 5 {
                row.attributes = r#"{"department":"oncology","wards":["c3"]}"#.into();
                row.entitlements = r#"["records:write","records:read"]"#.into();
                row.display_name = "Zoë 100%_Sure".into();
                row.search_name = "zoë 100%_sure".into();
            }
            users.create(&row, &rec, &sealer).await.unwrap();
        }
        let page = |f: UserFilter| async move { ids(&users.list(&f).await.unwrap()).join(",") };
        let all = |limit| UserFilter {
            limit,
            ..UserFilter::default()
        };
        assert_eq!(page(all(5)).await, "u00,u01,u02,u03,u04", "{b:?}");
        let second = UserFilter {
            after: Some("u04".into()),
            ..all(5)
        };
        assert_eq!(page(second).await, "u05,u06,u07,u08,u09");
        let patients = UserFilter {
            user_type: Some("patient".into()),
            ..all(50)
        };
        assert_eq!(page(patients).await, "u00,u03,u06,u09");
        let disabled_patients = UserFilter {
            user_type: Some("patient".into()),
            status: Some("disabled".into()),
            ..all(50)
        };
        assert_eq!(page(disabled_patients).await, "u00");
        let ward = UserFilter {
            attribute: Some(("wards".into(), "c3".into())),
            ..all(50)
        };
        assert_eq!(page(ward).await, "u05");
        let writers = UserFilter {
            entitlement: Some("records:write".into()),
            ..all(50)
        };
        assert_eq!(page(writers).await, "u05");
        // Prefixes: case-insensitive, wildcards taken literally.
        let by_name = UserFilter {
            prefix: Some("ZOË 100%_".into()),
            ..all(50)
        };
        assert_eq!(page(by_name).await, "u05");
        let wildcard = UserFilter {
            prefix: Some("%".into()),
            ..all(50)
        };
        assert_eq!(page(wildcard).await, "");
        let by_email = UserFilter {
            prefix: Some("p1".into()),
            ..all(50)
        };
        assert_eq!(page(by_email).await, "u01,u10,u11");
        let counts = users.count_by_type().await.unwrap();
        assert_eq!(
            counts,
            vec![("clinician".to_owned(), 8), ("patient".to_owned(), 4)]
        );
    }
}

#[tokio::test]
async fn an_update_keeps_identity_and_reindexes_and_an_unchanged_one_is_still_recorded() {
    // proves: ID-3
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        with_types(store.as_ref()).await;
        let users = store.users();
        let rec = record("admin", "users.create", 10);
        users
            .create(&user("u1", "clinician", None), &rec, &sealer)
            .await
            .unwrap();
        let edit = |row: &UserRow| {
            let mut next = row.clone();
            next.id = "hijacked".into();
            next.created_by = "mallory".into();
            next.attributes = r#"{"department":"oncology"}"#.into();
            next.entitlements = "[]".into();
            next.updated_at_us = 50;
            Some(next)
        };
        let seen = std::sync::Mutex::new(Vec::new());
        let audit = |before: &UserRow, after: &UserRow| {
            seen.lock()
                .unwrap()
                .push((before.attributes.clone(), after.attributes.clone()));
            record("admin", "users.update", 50)
        };
        let UserUpdated::Done { after, .. } = users
            .update("u1", &edit, &audit, i64::MAX, &sealer)
            .await
            .unwrap()
        else {
            panic!("not updated");
        };
        assert_eq!(
            (after.id.as_str(), after.created_by.as_str()),
            ("u1", "admin")
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
        let icu = UserFilter {
            attribute: Some(("department".into(), "icu".into())),
            limit: 10,
            ..UserFilter::default()
        };
        assert!(users.list(&icu).await.unwrap().is_empty());
        let readers = UserFilter {
            entitlement: Some("records:read".into()),
            limit: 10,
            ..UserFilter::default()
        };
        assert!(users.list(&readers).await.unwrap().is_empty());
        let none = |_: &UserRow| None;
        assert!(matches!(
            users
                .update("u1", &none, &audit, i64::MAX, &sealer)
                .await
                .unwrap(),
            UserUpdated::Unchanged(_)
        ));
        assert_eq!(seen.lock().unwrap().len(), 2);
        assert_eq!(
            users
                .update("nobody", &edit, &audit, i64::MAX, &sealer)
                .await
                .unwrap(),
            UserUpdated::Unknown
        );
        assert_verifies(store.as_ref(), &sealer).await;
    }
}
