//! The HTTP edge: the API routes and the staff and inspector web pages.
//! Domain errors become HTTP answers in one place, [`error`].

pub mod error;
pub mod routes;
pub mod web;
