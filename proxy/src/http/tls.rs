//! TLS for the connections to providers: rustls with ring and the platform's verifier.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls_platform_verifier::{BuilderVerifierExt, Verifier};

use crate::core::BuildError;

/// The TLS settings every client shares: rustls with ring and the platform's verifier, which
/// also trusts `extra_roots` (the operator's, for a self-hosted server with a private CA).
///
/// # Errors
///
/// When the platform's certificate verifier cannot be set up.
pub fn tls_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, BuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let failed = |e: rustls::Error| BuildError(format!("HTTP client: {e}"));
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(failed)?;
    let builder = if extra_roots.is_empty() {
        builder.with_platform_verifier().map_err(failed)?
    } else {
        let verifier = Verifier::new_with_extra_roots(extra_roots.iter().cloned(), provider)
            .map_err(failed)?;
        // "Dangerous" only in name: this is the platform's verifier, with more roots.
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };
    Ok(builder.with_no_client_auth())
}
