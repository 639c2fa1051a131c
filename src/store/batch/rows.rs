//! The multi-row inserts of a batch (sessions, audit events), per backend.
//!
//! On PostgreSQL one fixed statement over arrays (`INSERT … SELECT * FROM UNNEST(…)`):
//! its text is the same whatever the batch's size, so each connection prepares it once,
//! where `VALUES` rows would be a new statement, parsed and planned, for every size.
//! SQLite has no arrays: it gets the `VALUES` rows (only in-memory databases use this
//! writer; a SQLite file has its own, `sqlite_file`).

use sqlx::{Postgres, QueryBuilder, Sqlite};

use crate::store::audit::{audit_insert_columns, NewAuditEvent};
use crate::store::sessions::{session_insert_columns, NewSession};

/// The insert of `rows`, for the backend the caller's transaction is on.
pub(super) fn sessions<DB: BatchRows>(rows: &[NewSession]) -> QueryBuilder<'_, DB> {
    DB::sessions(rows)
}

pub(super) fn events<DB: BatchRows>(rows: &[NewAuditEvent]) -> QueryBuilder<'_, DB> {
    DB::events(rows)
}

/// How a backend inserts many rows in one statement.
pub(super) trait BatchRows: sqlx::Database {
    fn sessions(rows: &[NewSession]) -> QueryBuilder<'_, Self>;
    fn events(rows: &[NewAuditEvent]) -> QueryBuilder<'_, Self>;
}

impl BatchRows for Sqlite {
    fn sessions(rows: &[NewSession]) -> QueryBuilder<'_, Self> {
        let mut insert = QueryBuilder::new(session_insert_columns!());
        insert.push_values(rows, |mut row, s| s.push_values(&mut row));
        insert
    }

    fn events(rows: &[NewAuditEvent]) -> QueryBuilder<'_, Self> {
        let mut insert = QueryBuilder::new(audit_insert_columns!());
        insert.push_values(rows, |mut row, e| e.push_values(&mut row));
        insert
    }
}

/// Binds one array per column of `values` (each made by its function), each followed by
/// its SQL type, and closes the `UNNEST(`.
macro_rules! unnest {
    ($insert:ident, $values:ident, [$($column:expr => $sql:literal),+ $(,)?]) => {{
        let mut columns = $insert.separated(", ");
        $(
            columns.push_bind($values.iter().map($column).collect::<Vec<_>>());
            columns.push_unseparated($sql);
        )+
        $insert.push(")");
    }};
}

impl BatchRows for Postgres {
    fn sessions(rows: &[NewSession]) -> QueryBuilder<'_, Self> {
        let mut insert =
            QueryBuilder::new(concat!(session_insert_columns!(), "SELECT * FROM UNNEST("));
        let values: Vec<_> = rows.iter().map(NewSession::values).collect();
        unnest!(insert, values, [
            |v| v.0 => "::bytea[]", |v| v.1 => "::int8[]", |v| v.2 => "::int8[]",
            |v| v.3 => "::text[]", |v| v.4 => "::int8[]", |v| v.5 => "::int8[]",
            |v| v.6 => "::int8[]", |v| v.7 => "::int8[]", |v| v.8 => "::int8[]",
            |v| v.9 => "::text[]",
        ]);
        insert
    }

    fn events(rows: &[NewAuditEvent]) -> QueryBuilder<'_, Self> {
        let mut insert =
            QueryBuilder::new(concat!(audit_insert_columns!(), "SELECT * FROM UNNEST("));
        let values: Vec<_> = rows.iter().map(NewAuditEvent::values).collect();
        unnest!(insert, values, [
            |v| v.0 => "::int8[]", |v| v.1 => "::int8[]", |v| v.2 => "::text[]",
            |v| v.3 => "::text[]", |v| v.4 => "::text[]", |v| v.5 => "::text[]",
            |v| v.6.clone() => "::text[]", |v| v.7 => "::int8[]",
        ]);
        insert
    }
}
