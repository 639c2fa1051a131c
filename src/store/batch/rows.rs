//! The multi-row inserts of a batch (sessions, audit events), per backend.
//!
//! On PostgreSQL one fixed statement over arrays (`INSERT … SELECT * FROM UNNEST(…)`):
//! its text is the same whatever the batch's size, so each connection prepares it once,
//! where `VALUES` rows would be a new statement, parsed and planned, for every size. Both
//! tables are written by one statement (the sessions' insert in a `WITH`), which is
//! atomic by itself: a batch of logins then needs no transaction (`pool::Writes`).
//! SQLite has no arrays nor inserts in a `WITH`: it gets one statement of `VALUES` rows
//! per table (only in-memory databases use this writer; a SQLite file has its own,
//! `sqlite_file`).

use sqlx::{Postgres, QueryBuilder, Sqlite};

use crate::store::audit::{audit_insert_columns, NewAuditEvent};
use crate::store::sessions::{session_insert_columns, NewSession};

/// The statements that insert `sessions` and `events`, in order; none for no rows.
pub(super) fn inserts<'a, DB: BatchRows>(
    sessions: &'a [NewSession],
    events: &'a [NewAuditEvent],
) -> Vec<QueryBuilder<'a, DB>> {
    DB::inserts(sessions, events)
}

/// How a backend inserts many rows in few statements.
pub(super) trait BatchRows: sqlx::Database {
    fn inserts<'a>(
        sessions: &'a [NewSession],
        events: &'a [NewAuditEvent],
    ) -> Vec<QueryBuilder<'a, Self>>;
}

impl BatchRows for Sqlite {
    fn inserts<'a>(
        sessions: &'a [NewSession],
        events: &'a [NewAuditEvent],
    ) -> Vec<QueryBuilder<'a, Self>> {
        let mut statements = Vec::new();
        if !sessions.is_empty() {
            let mut insert = QueryBuilder::new(session_insert_columns!());
            insert.push_values(sessions, |mut row, s| s.push_values(&mut row));
            statements.push(insert);
        }
        if !events.is_empty() {
            let mut insert = QueryBuilder::new(audit_insert_columns!());
            insert.push_values(events, |mut row, e| e.push_values(&mut row));
            statements.push(insert);
        }
        statements
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
    fn inserts<'a>(
        sessions: &'a [NewSession],
        events: &'a [NewAuditEvent],
    ) -> Vec<QueryBuilder<'a, Self>> {
        let mut insert = QueryBuilder::new("");
        if !sessions.is_empty() {
            if !events.is_empty() {
                insert.push("WITH started AS (");
            }
            insert.push(concat!(session_insert_columns!(), "SELECT * FROM UNNEST("));
            let values: Vec<_> = sessions.iter().map(NewSession::values).collect();
            unnest!(insert, values, [
                |v| v.0 => "::bytea[]", |v| v.1 => "::int8[]", |v| v.2 => "::int8[]",
                |v| v.3 => "::text[]", |v| v.4 => "::int8[]", |v| v.5 => "::int8[]",
                |v| v.6 => "::int8[]", |v| v.7 => "::int8[]", |v| v.8 => "::int8[]",
                |v| v.9 => "::text[]",
            ]);
            if events.is_empty() {
                return vec![insert];
            }
            insert.push(") ");
        }
        if events.is_empty() {
            return Vec::new();
        }
        insert.push(concat!(audit_insert_columns!(), "SELECT * FROM UNNEST("));
        let values: Vec<_> = events.iter().map(NewAuditEvent::values).collect();
        unnest!(insert, values, [
            |v| v.0 => "::int8[]", |v| v.1 => "::int8[]", |v| v.2 => "::text[]",
            |v| v.3 => "::text[]", |v| v.4 => "::text[]", |v| v.5 => "::text[]",
            |v| v.6.clone() => "::text[]", |v| v.7 => "::int8[]",
        ]);
        vec![insert]
    }
}
