//! The gateway's WAF settings (GW-4), versioned: each change a new version
//! (its number the one before plus one; two writers of the same number: one
//! wins, the other is a `Conflict`), written with its audit record under the
//! chain lock. Never updated, never deleted.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

/// One version: the settings as JSON (`gatehouse_gateway::WafSettings`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WafSettingsRow {
    pub version: i64,
    pub settings: String,
    pub author: String,
    pub created_at_us: i64,
}

#[async_trait::async_trait]
pub trait WafSettingsStore: Send + Sync {
    /// The newest version, if any was written.
    async fn latest_waf_settings(&self) -> Result<Option<WafSettingsRow>, StoreError>;
    /// Writes a new version with its record; `Conflict` if the number is taken.
    async fn create_waf_settings(
        &self,
        row: &WafSettingsRow,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
}

macro_rules! impl_waf_settings_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::WafSettingsStore for $store {
            async fn latest_waf_settings(
                &self,
            ) -> Result<Option<$crate::WafSettingsRow>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT version, settings, author, created_at_us FROM waf_settings_versions \
                     ORDER BY version DESC LIMIT 1",
                )
                .fetch_optional(&self.lookup)
                .await?)
            }

            async fn create_waf_settings(
                &self,
                row: &$crate::WafSettingsRow,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                sqlx::query(
                    "INSERT INTO waf_settings_versions (version, settings, author, created_at_us) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(row.version)
                .bind(&row.settings)
                .bind(&row.author)
                .bind(row.created_at_us)
                .execute(&mut *tx)
                .await?;
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_waf_settings_store;
