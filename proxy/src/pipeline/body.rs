//! Reading a request body within the limit, before anything is sent.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

use super::outbound::InBody;
use crate::core::ProxyError;

/// The body as it goes up: a declared length within `limit` streams through unless `buffer`;
/// anything else is read first, so an oversized body never reaches a provider.
pub(super) async fn read_body(
    body: InBody,
    headers: &HeaderMap,
    limit: u64,
    buffer: bool,
) -> Result<InBody, ProxyError> {
    let declared = declared_within(headers, limit)?;
    match body {
        InBody::Ready(bytes) => Ok(InBody::Ready(bytes)),
        // A declared length within the limit streams straight through (hyper holds the client
        // to it); anything else is read first so an oversized body never reaches a provider.
        InBody::Streaming(body) if declared.is_some() && !buffer => Ok(InBody::Streaming(body)),
        InBody::Streaming(body) => read_all(body, limit).await.map(InBody::Ready),
    }
}

/// The body's declared length, refusing one over `limit` before anything is read.
fn declared_within(headers: &HeaderMap, limit: u64) -> Result<Option<u64>, ProxyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ProxyError::BodyTooLarge(limit));
    }
    Ok(declared)
}

/// Reads a whole request body of at most `limit` bytes, refusing a declared length over it
/// before reading anything.
///
/// # Errors
///
/// As [`read_all`].
pub async fn read_whole(body: Body, headers: &HeaderMap, limit: u64) -> Result<Bytes, ProxyError> {
    declared_within(headers, limit)?;
    read_all(body, limit).await
}

/// Reads a whole request body of at most `limit` bytes.
///
/// # Errors
///
/// [`ProxyError::BodyTooLarge`] past the limit; [`ProxyError::MalformedBody`] when the body
/// cannot be read at all (broken chunked encoding, the client went away).
pub async fn read_all(body: Body, limit: u64) -> Result<Bytes, ProxyError> {
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit_usize).await.map_err(|e| {
        let too_large = e
            .into_inner()
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if too_large {
            ProxyError::BodyTooLarge(limit)
        } else {
            ProxyError::MalformedBody
        }
    })
}
