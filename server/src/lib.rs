//! NeoForge: a full-stack SaaS starter. One binary serves the JSON API, the web app and the API docs,
//! on an embedded SQLite file or on PostgreSQL + Redis.

pub mod app;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod bench_reference;
pub mod cache;
pub mod community;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod otel;
pub mod projects;
pub mod resource;
pub mod security;
pub mod server;
pub mod state;
pub mod status;
pub mod support;
pub mod system;
pub mod telemetry;
// new-resource: rooms (`make new-resource` adds `pub mod <names>;` to the list above, in order)
