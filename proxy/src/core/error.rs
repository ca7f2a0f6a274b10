//! The one error type of the proxy, turned into an HTTP response in one place, and the
//! error of setting the proxy up.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything the proxy itself can answer with (upstream errors pass through, scrubbed).
///
/// # Security
///
/// Messages are fixed text plus non-secret detail (a provider id, a setting name). No variant
/// holds a key, a URL with a query, or a body; internal detail is logged, not returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// No usable key: no `X-BYOK-Key` and no permitted server-key fallback.
    #[error("missing API key: send your provider key in the X-BYOK-Key header")]
    MissingKey,
    /// The key header is not a valid header value (non-ASCII, too long).
    #[error("the X-BYOK-Key header is not a valid API key")]
    MalformedKey,
    /// The key was put in the URL, where it would be logged and cached.
    #[error("API keys are not accepted in the URL; send the key in the X-BYOK-Key header")]
    KeyInUrl,
    /// Both `X-BYOK-Key` and `X-BYOK-Sealed`: which one is meant is not for the proxy to guess.
    #[error("send either X-BYOK-Key or X-BYOK-Sealed, not both")]
    AmbiguousKey,
    /// A plain key where the proxy takes only sealed ones (`BYOK_REQUIRE_SEALED=on`).
    #[error(
        "this proxy accepts only sealed keys: send the key sealed, in X-BYOK-Sealed (GET /byok/seal-key)"
    )]
    SealRequired,
    /// A sealed key for a seal key the proxy does not hold (rotated out, or another proxy's).
    #[error(
        "the sealed key was sealed to a key this proxy does not hold: fetch GET /byok/seal-key again and seal anew"
    )]
    SealKeyUnknown,
    /// A sealed key made too long ago, or in the future, by the proxy's clock.
    #[error(
        "the sealed key is too old or too new: seal each request when it is sent, with a correct clock"
    )]
    SealStale,
    /// A sealed key already used once.
    #[error("the sealed key was already used: seal each request anew")]
    SealReplayed,
    /// A sealed key that does not open, or opens only for another request: one error for both.
    #[error("the sealed key is not valid for this request")]
    SealInvalid,
    /// Unknown or unconfigured provider.
    #[error("unknown provider {0:?}")]
    UnknownProvider(String),
    /// No such route.
    #[error("no such route")]
    NotFound,
    /// The request path could leave the provider's API (traversal, encoded separators, ...).
    #[error("the request path is not allowed")]
    BadPath,
    /// A provider that needs a resource name (Azure) got none, or one that is not one DNS
    /// label; nothing was contacted.
    #[error(
        "{0} requests name the user's resource: /{0}/<resource>/..., or the model {0}/<resource>/<deployment>; {rule}",
        rule = byok_providers::resource::BadResource
    )]
    BadResource(&'static str),
    /// A malformed request to a route that reads the body.
    #[error("{0}")]
    BadRequest(String),
    /// The request body could not be read (malformed chunked encoding, a broken connection).
    #[error(
        "the request body could not be read: malformed chunked encoding, or the connection broke"
    )]
    MalformedBody,
    /// A method no provider API uses (`CONNECT`, `TRACE`, ...).
    #[error("this method is not used by any provider API")]
    MethodNotAllowed,
    /// Body above the configured limit; upstream was not contacted.
    #[error("request body is larger than the limit of {0} bytes")]
    BodyTooLarge(u64),
    /// Rate limited; retry after the given time.
    #[error("too many requests; retry later")]
    RateLimited(Duration),
    /// Too many upstream requests in flight.
    #[error("the proxy is at capacity; retry shortly")]
    AtCapacity,
    /// The provider could not be reached (DNS, connect, TLS, reset).
    #[error("the provider could not be reached")]
    UpstreamUnreachable,
    /// The provider's response head was over the limit (see `http::client::MAX_RESPONSE_HEAD`).
    #[error("the provider's response headers were too large to relay")]
    UpstreamHeadTooLarge,
    /// The provider answered with a redirect, which is never followed.
    #[error("the provider answered with a redirect, which the proxy does not follow")]
    UpstreamRedirect,
    /// No response headers within the first-byte timeout.
    #[error("the provider did not answer in time")]
    FirstByteTimeout,
    /// A grant token that is not a live grant: unknown, expired, revoked, forged or truncated
    /// all look the same.
    #[error("the grant is not valid: it may have expired or been revoked")]
    InvalidGrant,
    /// A live grant used outside its scope: the code, and what the scope allows.
    #[error("{1}")]
    GrantOutOfScope(&'static str, String),
    /// A grant creation request with a bad field: the field, and what is wrong.
    #[error("invalid grant request: `{0}` {1}")]
    BadScope(&'static str, String),
    /// The key already has as many live grants as allowed.
    #[error("this key already has {0} live grants; revoke some or wait for them to expire")]
    TooManyGrants(u32),
    /// An `X-BYOK-User` token that is not valid: the cause (never the token).
    #[error("invalid user token: {0}")]
    InvalidUserToken(String),
    /// The caller's tier does not include the model (named, with the tier).
    #[error("{0}")]
    ModelNotAllowed(String),
    /// The caller's tier's hourly request limit is reached.
    #[error("{message}")]
    TierRateLimited {
        /// The tier and the limit.
        message: String,
        /// Seconds until the next hour.
        retry_after: u64,
    },
    /// The caller may not do this (said why).
    #[error("{0}")]
    Forbidden(String),
    /// A daily spend cap or budget is reached; the provider was not contacted.
    #[error("{message}")]
    BudgetExceeded {
        /// What was reached, naming the cap.
        message: String,
        /// Seconds until the next UTC midnight.
        retry_after: u64,
    },
    /// The shared store (Redis) cannot be reached; grants fail closed.
    #[error(
        "the shared store cannot be reached, and this request needs it (a grant, a cap, usage); \
         retry shortly"
    )]
    StoreUnavailable,
}

/// Failure to set up the HTTP client or the store client.
#[derive(Debug, thiserror::Error)]
#[error("could not build the {0}")]
pub struct BuildError(pub String);

impl ProxyError {
    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingKey | Self::MalformedKey => StatusCode::UNAUTHORIZED,
            Self::SealRequired
            | Self::SealKeyUnknown
            | Self::SealStale
            | Self::SealReplayed
            | Self::SealInvalid => StatusCode::UNAUTHORIZED,
            Self::AmbiguousKey => StatusCode::BAD_REQUEST,
            Self::KeyInUrl | Self::BadPath | Self::BadResource(_) | Self::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UnknownProvider(_) | Self::NotFound => StatusCode::NOT_FOUND,
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MalformedBody => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::AtCapacity => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamUnreachable | Self::UpstreamHeadTooLarge | Self::UpstreamRedirect => {
                StatusCode::BAD_GATEWAY
            }
            Self::FirstByteTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::InvalidGrant => StatusCode::UNAUTHORIZED,
            Self::GrantOutOfScope(..) => StatusCode::FORBIDDEN,
            Self::BadScope(..) => StatusCode::BAD_REQUEST,
            Self::TooManyGrants(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::BudgetExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden(_) | Self::ModelNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::InvalidUserToken(_) => StatusCode::UNAUTHORIZED,
            Self::TierRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// OpenAI-style error `type` and `code`, so SDK clients parse our errors like theirs.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::MissingKey => ("authentication_error", "missing_api_key"),
            Self::MalformedKey => ("authentication_error", "invalid_api_key"),
            Self::KeyInUrl => ("invalid_request_error", "key_in_url"),
            Self::AmbiguousKey => ("invalid_request_error", "ambiguous_key"),
            Self::SealRequired => ("authentication_error", "seal_required"),
            Self::SealKeyUnknown => ("authentication_error", "seal_key_unknown"),
            Self::SealStale => ("authentication_error", "seal_stale"),
            Self::SealReplayed => ("authentication_error", "seal_replayed"),
            Self::SealInvalid => ("authentication_error", "seal_invalid"),
            Self::UnknownProvider(_) => ("invalid_request_error", "unknown_provider"),
            Self::NotFound => ("invalid_request_error", "not_found"),
            Self::BadPath => ("invalid_request_error", "bad_path"),
            Self::BadResource(_) => ("invalid_request_error", "bad_resource"),
            Self::BadRequest(_) => ("invalid_request_error", "bad_request"),
            Self::BodyTooLarge(_) => ("invalid_request_error", "body_too_large"),
            Self::MalformedBody => ("invalid_request_error", "malformed_body"),
            Self::MethodNotAllowed => ("invalid_request_error", "method_not_allowed"),
            Self::RateLimited(_) => ("rate_limit_error", "rate_limited"),
            Self::AtCapacity => ("server_error", "at_capacity"),
            Self::UpstreamUnreachable => ("upstream_error", "upstream_unreachable"),
            Self::UpstreamHeadTooLarge => ("upstream_error", "upstream_head_too_large"),
            Self::UpstreamRedirect => ("upstream_error", "upstream_redirect"),
            Self::FirstByteTimeout => ("upstream_error", "upstream_timeout"),
            Self::InvalidGrant => ("authentication_error", "invalid_grant"),
            Self::GrantOutOfScope(code, _) => ("permission_error", code),
            Self::BadScope(..) => ("invalid_request_error", "invalid_grant_scope"),
            Self::TooManyGrants(_) => ("rate_limit_error", "too_many_grants"),
            Self::StoreUnavailable => ("server_error", "store_unavailable"),
            Self::BudgetExceeded { .. } => ("rate_limit_error", "budget_exceeded"),
            Self::Forbidden(_) => ("permission_error", "forbidden"),
            Self::InvalidUserToken(_) => ("authentication_error", "invalid_user_token"),
            Self::ModelNotAllowed(_) => ("permission_error", "model_not_allowed"),
            Self::TierRateLimited { .. } => ("rate_limit_error", "rate_limited"),
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (kind, code) = self.kind();
        let body = json!({ "error": { "message": self.to_string(), "type": kind, "code": code } });
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, Self::MethodNotAllowed) {
            response.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
            );
        }
        let retry_after = match self {
            Self::RateLimited(after) => Some(after.as_secs().max(1)),
            Self::BudgetExceeded { retry_after, .. }
            | Self::TierRateLimited { retry_after, .. } => Some(retry_after),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
