//! The sign-in pipeline seen from outside: every flow, every state of a user or site,
//! the same answer and the same audit event.

mod states;
