//! A request on its way to a provider, as the routes hand it to the pipeline.

use std::net::IpAddr;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;

use crate::core::{Provider, Resource};

/// A request body: still arriving, or already read (unified routes, retries).
#[derive(Debug)]
pub enum InBody {
    /// Streamed from the client.
    Streaming(Body),
    /// Fully read.
    Ready(Bytes),
}

/// A request on its way to a provider.
#[derive(Debug)]
pub struct Outbound {
    /// The provider.
    pub provider: Provider,
    /// The user's resource, for a provider whose host is the resource's (Azure); checked.
    pub resource: Option<Resource>,
    /// Path and query to append to the provider's base URL (already validated).
    pub target: String,
    /// The client's method, URI and headers.
    pub parts: Parts,
    /// The client's body.
    pub body: InBody,
    /// The client's address.
    pub client_ip: IpAddr,
    /// The model, as the provider knows it, when the route already read it (unified routes).
    pub model: Option<String>,
    /// Remove the final usage chunk from the answer: the proxy asked for it, not the client.
    pub strip_usage: bool,
}
