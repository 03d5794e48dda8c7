//! The schema each backend's migrations build, embedded at compile time, and the
//! check a store opened with [`crate::OpenMode::Existing`] makes instead of
//! migrating: the database must be at exactly this build's version.

use sqlx::migrate::Migrator;

use crate::StoreError;

pub(crate) static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(crate) static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The versions sqlx recorded as applied, oldest first; the table is missing
/// from a database that was never migrated.
pub(crate) const APPLIED_SQL: &str =
    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

/// Checks `applied` (the result of [`APPLIED_SQL`]) against `migrator`. A read
/// that fails in the database (no migrations table) counts as version 0; a
/// connection failure is returned as it is.
pub(crate) fn check(
    migrator: &Migrator,
    applied: Result<Vec<i64>, sqlx::Error>,
) -> Result<(), StoreError> {
    let applied = match applied {
        Ok(v) => v,
        Err(sqlx::Error::Database(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let expected: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    let found = applied.iter().copied().max().unwrap_or(0);
    let newest = expected.iter().copied().max().unwrap_or(0);
    if found > newest {
        return Err(StoreError::SchemaAhead {
            found,
            expected: newest,
        });
    }
    if applied != expected {
        return Err(StoreError::SchemaBehind {
            found,
            expected: newest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exactly_this_builds_schema_passes() {
        let all: Vec<i64> = SQLITE.iter().map(|m| m.version).collect();
        let newest = *all.last().unwrap();
        assert!(check(&SQLITE, Ok(all.clone())).is_ok());
        let behind = check(&SQLITE, Ok(all[..all.len() - 1].to_vec())).unwrap_err();
        assert!(
            behind
                .to_string()
                .contains("run `gatehouse serve` or `gatehouse init`"),
            "{behind}"
        );
        let mut gap = all.clone();
        gap.remove(0);
        assert!(matches!(
            check(&SQLITE, Ok(gap)),
            Err(StoreError::SchemaBehind { .. })
        ));
        let mut ahead = all.clone();
        ahead.push(newest + 1);
        assert!(matches!(
            check(&SQLITE, Ok(ahead)),
            Err(StoreError::SchemaAhead { .. })
        ));
        assert!(matches!(
            check(&SQLITE, Ok(Vec::new())),
            Err(StoreError::SchemaBehind { found: 0, .. })
        ));
    }
}
