//! Reading the values of settings (URLs, durations, sizes, certificate files), and the error
//! that names a setting that is wrong.

use std::path::Path;
use std::time::Duration;

use byok_providers::resource;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::core::Provider;

/// A configuration error, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {problem}")]
pub struct ConfigError {
    setting: String,
    problem: String,
}

/// The error for `setting`: what is wrong with it, never its value when that may be secret.
pub(super) fn bad(setting: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        problem: problem.into(),
    }
}

/// The certificates in a PEM file: at least one, all well-formed.
pub(super) fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let roots = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{shown} is not a PEM certificate file: {e}"))?;
    if roots.is_empty() {
        return Err(format!("{shown} holds no PEM certificate"));
    }
    Ok(roots)
}

/// `provider`'s base URL: http(s), a host, no query, fragment or credentials; trailing `/`
/// dropped. For a provider whose host is the user's resource (Azure), a template holding
/// `{resource}` once, in the host or the path (`https://{resource}.openai.azure.com`), that is
/// such a URL with a resource name in it; for any other, no `{resource}`.
pub(super) fn parse_base_url(provider: Provider, raw: &str) -> Result<String, String> {
    let slots = raw.matches(resource::SLOT).count();
    if !provider.needs_resource() {
        return match slots {
            0 => parse_fixed_url(raw),
            _ => Err(format!(
                "{provider}'s URL cannot hold {}: only azure's host is the user's resource",
                resource::SLOT
            )),
        };
    }
    if slots != 1 {
        return Err(format!(
            "{provider}'s URL must hold {} once, where the resource name goes, like \
             https://{{resource}}.openai.azure.com",
            resource::SLOT
        ));
    }
    // Filled in with a name, it must be a URL with the name as a whole label of the host or a
    // whole segment of the path: never the scheme, a port, or part of another word.
    let probe = "probe-resource";
    let filled = parse_fixed_url(&raw.replacen(resource::SLOT, probe, 1))?;
    let url = url::Url::parse(&filled).map_err(|e| e.to_string())?;
    let in_host = url
        .host_str()
        .is_some_and(|h| h.split('.').any(|l| l == probe));
    let in_path = url.path().split('/').any(|s| s == probe);
    if !(in_host || in_path) || filled.matches(probe).count() != 1 {
        return Err(format!(
            "{} must be a whole label of the host or a whole segment of the path",
            resource::SLOT
        ));
    }
    Ok(filled.replacen(probe, resource::SLOT, 1))
}

/// A base URL with nothing in it to fill in.
fn parse_fixed_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{raw:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not contain credentials".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// An origin, written exactly as browsers write one (`https://host[:port]`, lowercase, no
/// default port, nothing after it); plain `http` only on loopback, where browsers treat it as a
/// secure context.
pub(super) fn parse_origin(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not an origin ({e})"))?;
    let origin = url.origin().ascii_serialization();
    if origin != raw {
        return Err(format!(
            "{raw:?} is not an origin as browsers write it (like {origin:?})"
        ));
    }
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain(d)) if d == "localhost" || d.ends_with(".localhost")
    ) || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match url.scheme() {
        "https" => Ok(origin),
        "http" if loopback => Ok(origin),
        _ => Err(format!(
            "{raw:?}: an embedding app must be served over https (plain http only on localhost)"
        )),
    }
}

pub(super) fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (number, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map_or((raw, "s"), |i| raw.split_at(i));
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(n.checked_mul(3600)?)),
        _ => None,
    }
}

pub(super) fn parse_size(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let (number, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map_or((raw, ""), |i| raw.split_at(i));
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1024,
        "MiB" | "M" | "MB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor).filter(|n| *n > 0)
}
