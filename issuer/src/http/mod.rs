//! The HTTP edge: the API routes and the staff and inspector web pages.

pub mod routes;
pub mod web;
