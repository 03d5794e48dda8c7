//! User types (ID-3) and their registration flows (ID-2), each definition
//! stored as JSON and replaced with its before/after record under the chain
//! lock.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

/// A user type's definition, as the JSON of `gatehouse_identity`'s `UserType`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserTypeRow {
    pub name: String,
    pub definition: String,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// A registration flow, as the JSON of `gatehouse_identity`'s `RegistrationFlow`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FlowRow {
    pub user_type: String,
    pub definition: String,
    pub updated_at_us: i64,
}

/// Builds a definition's record from the row before (none: created) and after.
pub type DefinitionAudit<'a> = dyn Fn(Option<&str>, &str) -> Record + Send + Sync + 'a;

#[async_trait::async_trait]
pub trait UserTypeStore: Send + Sync {
    /// By name.
    async fn list_types(&self) -> Result<Vec<UserTypeRow>, StoreError>;
    async fn find_type(&self, name: &str) -> Result<Option<UserTypeRow>, StoreError>;
    /// Creates or replaces a type's definition, with its record.
    async fn put_type(
        &self,
        row: &UserTypeRow,
        audit: &DefinitionAudit<'_>,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
    async fn list_flows(&self) -> Result<Vec<FlowRow>, StoreError>;
    async fn find_flow(&self, user_type: &str) -> Result<Option<FlowRow>, StoreError>;
    /// Creates or replaces the flow of an existing type, with its record
    /// (`Conflict` with no such type).
    async fn put_flow(
        &self,
        row: &FlowRow,
        audit: &DefinitionAudit<'_>,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
}

macro_rules! impl_user_type_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::UserTypeStore for $store {
            async fn list_types(&self) -> Result<Vec<$crate::UserTypeRow>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT name, definition, created_at_us, updated_at_us FROM user_types \
                     ORDER BY name",
                )
                .fetch_all(&self.lookup)
                .await?)
            }

            async fn find_type(
                &self,
                name: &str,
            ) -> Result<Option<$crate::UserTypeRow>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT name, definition, created_at_us, updated_at_us FROM user_types \
                     WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.lookup)
                .await?)
            }

            async fn put_type(
                &self,
                row: &$crate::UserTypeRow,
                audit: &$crate::DefinitionAudit<'_>,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let before: Option<String> =
                    sqlx::query_scalar("SELECT definition FROM user_types WHERE name = $1")
                        .bind(&row.name)
                        .fetch_optional(&mut *tx)
                        .await?;
                if before.is_some() {
                    sqlx::query(
                        "UPDATE user_types SET definition = $2, updated_at_us = $3 \
                         WHERE name = $1",
                    )
                    .bind(&row.name)
                    .bind(&row.definition)
                    .bind(row.updated_at_us)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO user_types (name, definition, created_at_us, \
                         updated_at_us) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&row.name)
                    .bind(&row.definition)
                    .bind(row.created_at_us)
                    .bind(row.updated_at_us)
                    .execute(&mut *tx)
                    .await?;
                }
                let record = audit(before.as_deref(), &row.definition);
                Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_flows(&self) -> Result<Vec<$crate::FlowRow>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT user_type, definition, updated_at_us FROM registration_flows \
                     ORDER BY user_type",
                )
                .fetch_all(&self.lookup)
                .await?)
            }

            async fn find_flow(
                &self,
                user_type: &str,
            ) -> Result<Option<$crate::FlowRow>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT user_type, definition, updated_at_us FROM registration_flows \
                     WHERE user_type = $1",
                )
                .bind(user_type)
                .fetch_optional(&self.lookup)
                .await?)
            }

            async fn put_flow(
                &self,
                row: &$crate::FlowRow,
                audit: &$crate::DefinitionAudit<'_>,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let has_type: Option<String> =
                    sqlx::query_scalar("SELECT name FROM user_types WHERE name = $1")
                        .bind(&row.user_type)
                        .fetch_optional(&mut *tx)
                        .await?;
                if has_type.is_none() {
                    return Err($crate::StoreError::Conflict);
                }
                let before: Option<String> = sqlx::query_scalar(
                    "SELECT definition FROM registration_flows WHERE user_type = $1",
                )
                .bind(&row.user_type)
                .fetch_optional(&mut *tx)
                .await?;
                let sql = if before.is_some() {
                    "UPDATE registration_flows SET definition = $2, updated_at_us = $3 \
                     WHERE user_type = $1"
                } else {
                    "INSERT INTO registration_flows (user_type, definition, updated_at_us) \
                     VALUES ($1, $2, $3)"
                };
                sqlx::query(sql)
                    .bind(&row.user_type)
                    .bind(&row.definition)
                    .bind(row.updated_at_us)
                    .execute(&mut *tx)
                    .await?;
                let record = audit(before.as_deref(), &row.definition);
                Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_user_type_store;
