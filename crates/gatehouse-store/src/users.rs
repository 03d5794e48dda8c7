//! Users (ID-3); their types and registration flows are `user_types.rs`'s.
//! Every change commits with its audit record under the chain lock. A user's attributes and
//! entitlements are kept twice: as JSON on the row (what is read back) and
//! spread into `user_attributes` / `user_entitlements` (what filters use, with
//! the same SQL on both databases), both written by [`write_user`] alone.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

/// One user. `attributes` is a JSON object, `entitlements` a JSON array of
/// strings; `search_name` is `display_name` lower-cased (prefix search).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub user_type: String,
    pub status: String,
    pub display_name: String,
    pub search_name: String,
    pub email: Option<String>,
    pub is_email_verified: bool,
    pub phone: Option<String>,
    pub is_phone_verified: bool,
    pub attributes: String,
    pub entitlements: String,
    pub source: String,
    pub directory_dn: Option<String>,
    pub created_at_us: i64,
    pub created_by: String,
    pub updated_at_us: i64,
    /// Unix seconds of the failed sign-ins of the last hour (a JSON array).
    pub recent_failures: String,
    pub locked_until_us: Option<i64>,
}

/// Which users a page holds. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub user_type: Option<String>,
    pub status: Option<String>,
    /// An attribute's name and one of its values (a set matches any member).
    pub attribute: Option<(String, String)>,
    pub entitlement: Option<String>,
    /// A prefix of the email, the phone number or the display name
    /// (case-insensitive).
    pub prefix: Option<String>,
    /// Users after this id (the previous page's last).
    pub after: Option<String>,
    pub limit: u32,
}

/// Builds the changed user from the stored one inside the transaction; `None`
/// leaves it as it is (the record alone is written).
pub type UserEdit<'a> = dyn Fn(&UserRow) -> Option<UserRow> + Send + Sync + 'a;
/// Builds a change's record from the row before and after.
pub type UserAudit<'a> = dyn Fn(&UserRow, &UserRow) -> Record + Send + Sync + 'a;

/// What [`UserStore::update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserUpdated {
    Done {
        before: Box<UserRow>,
        after: Box<UserRow>,
    },
    Unchanged(Box<UserRow>),
    Unknown,
}

#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// [`StoreError::Conflict`] when the id, email, phone or directory name is
    /// taken (and then nothing is written).
    async fn create(
        &self,
        row: &UserRow,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError> {
        self.create_with_credentials(row, &[], audit, sealer).await
    }
    /// Creates the user with their first credentials (a sign-up's password
    /// and TOTP secret), in one change with one record.
    async fn create_with_credentials(
        &self,
        row: &UserRow,
        credentials: &[crate::CredentialRow],
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
    async fn find(&self, id: &str) -> Result<Option<UserRow>, StoreError>;
    /// By the stored (already normalised) email address.
    async fn find_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError>;
    /// By the stored E.164 number.
    async fn find_by_phone(&self, phone: &str) -> Result<Option<UserRow>, StoreError>;
    /// The user a directory entry signed in as before (by its DN).
    async fn find_by_directory_dn(&self, dn: &str) -> Result<Option<UserRow>, StoreError>;
    /// A page in id order (ids are UUIDv7, so creation order).
    async fn list(&self, filter: &UserFilter) -> Result<Vec<UserRow>, StoreError>;
    /// How many users of each type there are.
    async fn count_by_type(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Applies `edit` and commits it with its record; `Conflict` when the edit
    /// takes a contact point another user has (nothing written). When the edit
    /// locks or disables the user, their open sessions end with it (reason
    /// `locked` or `disabled`) and a `user` event (kept until
    /// `event_not_after_us`) cuts off every token issued to them.
    async fn update(
        &self,
        id: &str,
        edit: &UserEdit<'_>,
        audit: &UserAudit<'_>,
        event_not_after_us: i64,
        sealer: &Sealer,
    ) -> Result<UserUpdated, StoreError>;
}

pub(crate) const USER_COLUMNS: &str = "id, user_type, status, display_name, search_name, email, \
     is_email_verified, phone, is_phone_verified, attributes, entitlements, source, \
     directory_dn, created_at_us, created_by, updated_at_us, recent_failures, \
     locked_until_us";

/// The (name, value) pairs a user's attributes are found by: a string as it
/// is, a number or a boolean as JSON writes it, each member of a set.
pub(crate) fn attribute_pairs(attributes: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(attributes) else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for (name, value) in map {
        match value {
            serde_json::Value::String(s) => pairs.push((name, s)),
            serde_json::Value::Array(items) => {
                for item in items {
                    let text = match item {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    pairs.push((name.clone(), text));
                }
            }
            serde_json::Value::Null => {}
            other => pairs.push((name, other.to_string())),
        }
    }
    pairs.sort();
    pairs.dedup();
    pairs
}

pub(crate) fn entitlement_list(entitlements: &str) -> Vec<String> {
    let mut list: Vec<String> = serde_json::from_str(entitlements).unwrap_or_default();
    list.sort();
    list.dedup();
    list
}

/// `LIKE` pattern for a prefix, with `\` escaping the wildcards.
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The `WHERE` clause of a page and its binds, in order; `$n` numbering on
/// both databases.
pub(crate) fn page_sql(filter: &UserFilter) -> (String, Vec<String>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let next = |value: String, binds: &mut Vec<String>| {
        binds.push(value);
        format!("${}", binds.len())
    };
    if let Some(t) = &filter.user_type {
        let p = next(t.clone(), &mut binds);
        clauses.push(format!("user_type = {p}"));
    }
    if let Some(s) = &filter.status {
        let p = next(s.clone(), &mut binds);
        clauses.push(format!("status = {p}"));
    }
    if let Some((name, value)) = &filter.attribute {
        let n = next(name.clone(), &mut binds);
        let v = next(value.clone(), &mut binds);
        clauses.push(format!(
            "id IN (SELECT user_id FROM user_attributes WHERE name = {n} AND value = {v})"
        ));
    }
    if let Some(e) = &filter.entitlement {
        let p = next(e.clone(), &mut binds);
        clauses.push(format!(
            "id IN (SELECT user_id FROM user_entitlements WHERE entitlement = {p})"
        ));
    }
    if let Some(prefix) = &filter.prefix {
        let p = next(like_prefix(prefix), &mut binds);
        clauses.push(format!(
            "(email LIKE {p} ESCAPE '\\' OR phone LIKE {p} ESCAPE '\\' \
             OR search_name LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(after) = &filter.after {
        let p = next(after.clone(), &mut binds);
        clauses.push(format!("id > {p}"));
    }
    let mut sql = format!("SELECT {USER_COLUMNS} FROM users");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(&format!(
        " ORDER BY id LIMIT {}",
        filter.limit.clamp(1, 1000)
    ));
    (sql, binds)
}

macro_rules! impl_user_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::UserStore for $store {
            async fn create_with_credentials(
                &self,
                row: &$crate::UserRow,
                credentials: &[$crate::CredentialRow],
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                Self::write_user(&mut tx, row, true).await?;
                for credential in credentials {
                    Self::replace_credential(&mut tx, credential).await?;
                }
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find(&self, id: &str) -> Result<Option<$crate::UserRow>, $crate::StoreError> {
                self.find_user_by("id", id).await
            }

            async fn find_by_email(
                &self,
                email: &str,
            ) -> Result<Option<$crate::UserRow>, $crate::StoreError> {
                self.find_user_by("email", email).await
            }

            async fn find_by_phone(
                &self,
                phone: &str,
            ) -> Result<Option<$crate::UserRow>, $crate::StoreError> {
                self.find_user_by("phone", phone).await
            }

            async fn find_by_directory_dn(
                &self,
                dn: &str,
            ) -> Result<Option<$crate::UserRow>, $crate::StoreError> {
                self.find_user_by("directory_dn", dn).await
            }

            async fn list(
                &self,
                filter: &$crate::UserFilter,
            ) -> Result<Vec<$crate::UserRow>, $crate::StoreError> {
                let (sql, binds) = $crate::users::page_sql(filter);
                let mut query = sqlx::query_as(&sql);
                for b in &binds {
                    query = query.bind(b);
                }
                Ok(query.fetch_all(&self.lookup).await?)
            }

            async fn count_by_type(&self) -> Result<Vec<(String, i64)>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT user_type, COUNT(*) FROM users GROUP BY user_type ORDER BY user_type",
                )
                .fetch_all(&self.lookup)
                .await?)
            }

            async fn update(
                &self,
                id: &str,
                edit: &$crate::UserEdit<'_>,
                audit: &$crate::UserAudit<'_>,
                event_not_after_us: i64,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<$crate::UserUpdated, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let sql = format!(
                    "SELECT {} FROM users WHERE id = $1",
                    $crate::users::USER_COLUMNS
                );
                let before: Option<$crate::UserRow> =
                    sqlx::query_as(&sql).bind(id).fetch_optional(&mut *tx).await?;
                let Some(before) = before else {
                    return Ok($crate::UserUpdated::Unknown);
                };
                let Some(mut after) = edit(&before) else {
                    let record = audit(&before, &before);
                    Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer)
                        .await?;
                    tx.commit().await?;
                    return Ok($crate::UserUpdated::Unchanged(Box::new(before)));
                };
                // The edit cannot move the row's identity or history.
                after.id = before.id.clone();
                after.created_at_us = before.created_at_us;
                after.created_by = before.created_by.clone();
                Self::write_user(&mut tx, &after, false).await?;
                let is_cut = after.status != before.status
                    && (after.status == "locked" || after.status == "disabled");
                if is_cut {
                    let end = $crate::SessionEnd {
                        reason: &after.status,
                        at_us: after.updated_at_us,
                        event_not_after_us,
                    };
                    Self::end_open(&mut tx, &after.id, &end).await?;
                    Self::append_event(
                        &mut tx,
                        "user",
                        &after.id,
                        event_not_after_us,
                        after.updated_at_us,
                    )
                    .await?;
                }
                let record = audit(&before, &after);
                Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer).await?;
                tx.commit().await?;
                Ok($crate::UserUpdated::Done {
                    before: Box::new(before),
                    after: Box::new(after),
                })
            }
        }

        impl $store {
            async fn find_user_by(
                &self,
                column: &'static str,
                value: &str,
            ) -> Result<Option<$crate::UserRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM users WHERE {column} = $1",
                    $crate::users::USER_COLUMNS
                );
                Ok(sqlx::query_as(&sql).bind(value).fetch_optional(&self.lookup).await?)
            }

            /// The row, and its attribute and entitlement index rows, replaced.
            async fn write_user(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                row: &$crate::UserRow,
                insert: bool,
            ) -> Result<(), $crate::StoreError> {
                let sql = if insert {
                    "INSERT INTO users (id, user_type, status, display_name, search_name, email, \
                     is_email_verified, phone, is_phone_verified, attributes, entitlements, \
                     source, directory_dn, created_at_us, created_by, updated_at_us, \
                     recent_failures, locked_until_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                } else {
                    "UPDATE users SET user_type = $2, status = $3, display_name = $4, \
                     search_name = $5, email = $6, is_email_verified = $7, phone = $8, \
                     is_phone_verified = $9, attributes = $10, entitlements = $11, source = $12, \
                     directory_dn = $13, created_at_us = $14, created_by = $15, \
                     updated_at_us = $16, recent_failures = $17, locked_until_us = $18 \
                     WHERE id = $1"
                };
                sqlx::query(sql)
                    .bind(&row.id)
                    .bind(&row.user_type)
                    .bind(&row.status)
                    .bind(&row.display_name)
                    .bind(&row.search_name)
                    .bind(&row.email)
                    .bind(row.is_email_verified)
                    .bind(&row.phone)
                    .bind(row.is_phone_verified)
                    .bind(&row.attributes)
                    .bind(&row.entitlements)
                    .bind(&row.source)
                    .bind(&row.directory_dn)
                    .bind(row.created_at_us)
                    .bind(&row.created_by)
                    .bind(row.updated_at_us)
                    .bind(&row.recent_failures)
                    .bind(row.locked_until_us)
                    .execute(&mut **tx)
                    .await?;
                if !insert {
                    sqlx::query("DELETE FROM user_attributes WHERE user_id = $1")
                        .bind(&row.id)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query("DELETE FROM user_entitlements WHERE user_id = $1")
                        .bind(&row.id)
                        .execute(&mut **tx)
                        .await?;
                }
                for (name, value) in $crate::users::attribute_pairs(&row.attributes) {
                    sqlx::query(
                        "INSERT INTO user_attributes (user_id, name, value) VALUES ($1, $2, $3)",
                    )
                    .bind(&row.id)
                    .bind(name)
                    .bind(value)
                    .execute(&mut **tx)
                    .await?;
                }
                for entitlement in $crate::users::entitlement_list(&row.entitlements) {
                    sqlx::query(
                        "INSERT INTO user_entitlements (user_id, entitlement) VALUES ($1, $2)",
                    )
                    .bind(&row.id)
                    .bind(entitlement)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use impl_user_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_pairs_spread_sets_and_render_scalars() {
        let pairs = attribute_pairs(
            r#"{"department":"cardiology","level":3,"is_senior":true,"wards":["b2","a1","a1"]}"#,
        );
        assert_eq!(
            pairs,
            vec![
                ("department".into(), "cardiology".into()),
                ("is_senior".into(), "true".into()),
                ("level".into(), "3".into()),
                ("wards".into(), "a1".into()),
                ("wards".into(), "b2".into()),
            ]
        );
        assert!(attribute_pairs("not json").is_empty());
    }

    #[test]
    fn a_prefix_cannot_smuggle_wildcards() {
        assert_eq!(like_prefix("A%b_c\\"), "a\\%b\\_c\\\\%");
    }

    #[test]
    fn a_page_binds_every_value_and_never_inlines_one() {
        let filter = UserFilter {
            user_type: Some("x' OR 1=1 --".into()),
            status: Some("active".into()),
            attribute: Some(("department".into(), "icu".into())),
            entitlement: Some("ward:b2".into()),
            prefix: Some("ann".into()),
            after: Some("0190".into()),
            limit: 5000,
        };
        let (sql, binds) = page_sql(&filter);
        assert!(!sql.contains("OR 1=1"));
        assert_eq!(binds.len(), 7);
        assert!(sql.ends_with("ORDER BY id LIMIT 1000"));
    }
}
