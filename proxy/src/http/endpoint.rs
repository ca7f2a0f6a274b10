//! Where a provider lives: its base URL taken apart once, when the client is built, so a
//! request names only the path and query below it.

use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{HeaderValue, Uri};

use crate::core::BuildError;

/// A URL that cannot be built (for the client's [`super::client::Error`]).
type Unbuildable = Box<dyn std::error::Error + Send + Sync>;

/// A provider's base URL, taken apart once.
pub(super) struct Endpoint {
    pub scheme: Scheme,
    pub authority: Authority,
    /// The `Host` header HTTP/1.1 requests carry.
    pub host: HeaderValue,
    /// The base URL's path without its trailing slash: empty, or e.g. `/api`.
    pub base_path: String,
}

impl Endpoint {
    pub fn new(base: &str) -> Result<Self, BuildError> {
        let bad = || {
            BuildError(format!(
                "HTTP client: {base:?} is not an absolute http(s) URL"
            ))
        };
        let uri: Uri = base.parse().map_err(|_| bad())?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(bad());
        };
        Ok(Self {
            host: HeaderValue::from_str(authority.as_str()).map_err(|_| bad())?,
            scheme,
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// Where to connect: scheme and authority.
    pub fn origin(&self) -> Result<Uri, Unbuildable> {
        Ok(Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()?)
    }

    /// `target` (path and query below the base URL) as the provider's path and query; as it
    /// is when the base URL has no path (nearly always).
    pub fn locate(&self, target: Uri) -> Result<Uri, Unbuildable> {
        if self.base_path.is_empty() {
            return Ok(target);
        }
        let target = target.path_and_query().ok_or("the request has no path")?;
        let mut full = String::with_capacity(self.base_path.len() + target.as_str().len());
        full.push_str(&self.base_path);
        full.push_str(target.as_str());
        Ok(Uri::from(PathAndQuery::try_from(full)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_keeps_its_base_path_and_host() {
        let openrouter = Endpoint::new("https://openrouter.ai/api").unwrap();
        assert_eq!(openrouter.origin().unwrap(), "https://openrouter.ai/");
        assert_eq!(openrouter.host, "openrouter.ai");
        let target: Uri = "/v1/chat/completions?trace=1".parse().unwrap();
        assert_eq!(
            openrouter.locate(target.clone()).unwrap(),
            "/api/v1/chat/completions?trace=1"
        );

        let local = Endpoint::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(local.origin().unwrap(), "http://127.0.0.1:8080/");
        assert_eq!(local.host, "127.0.0.1:8080");
        assert_eq!(local.locate(target.clone()).unwrap(), target);
    }

    #[test]
    fn a_base_url_without_scheme_or_host_is_refused() {
        for bad in ["api.openai.com", "/v1", "https://"] {
            assert!(Endpoint::new(bad).is_err(), "{bad}");
        }
    }
}
