//! A provider resource: the name of the user's own deployment of a provider, which becomes part
//! of the upstream host (Azure OpenAI's `<resource>.openai.azure.com`).
//!
//! This is the one place a client has a say in where a request goes, so it is bounded here, on
//! both sides alike: a resource name is one DNS label of lowercase letters, digits and inner
//! hyphens (`[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`). It can hold no dot, slash, colon, `@`,
//! percent sign or anything else that could move the request to another host, port or path;
//! the host it makes is always one label under the provider's fixed domain.

use std::fmt;

/// What stands for the resource name in a base URL (`https://{resource}.openai.azure.com`).
pub const SLOT: &str = "{resource}";

/// The longest DNS label.
const MAX_LEN: usize = 63;

/// A name that is not one DNS label. Says what is wrong, never repeats the name (it came from
/// a client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a resource name is 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
)]
pub struct BadResource;

/// Checks that `name` is one DNS label as the module docs describe.
///
/// # Errors
///
/// [`BadResource`] otherwise.
pub fn check(name: &str) -> Result<(), BadResource> {
    let bytes = name.as_bytes();
    let inner_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last))
            if bytes.len() <= MAX_LEN
                && inner_ok(first)
                && inner_ok(last)
                && bytes.iter().all(|b| inner_ok(b) || *b == b'-') =>
        {
            Ok(())
        }
        _ => Err(BadResource),
    }
}

/// `template` (a base URL holding [`SLOT`] once) with `name` in the slot.
///
/// # Errors
///
/// [`BadResource`] when `name` is not one DNS label.
pub fn base_url(template: &str, name: &str) -> Result<String, BadResource> {
    check(name)?;
    Ok(template.replacen(SLOT, name, 1))
}

/// Splits a path below a provider's prefix (`<resource>/<rest>`) into the resource and the
/// rest (which keeps its leading `/`).
///
/// # Errors
///
/// [`BadResource`] when the first segment is not one DNS label, or nothing follows it.
pub fn split_path(path: &str) -> Result<(Resource, &str), BadResource> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let slash = path.find('/').ok_or(BadResource)?;
    let (name, rest) = path.split_at(slash);
    Ok((Resource::new(name)?, rest))
}

/// A checked resource name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource(Box<str>);

impl Resource {
    /// `name`, checked.
    ///
    /// # Errors
    ///
    /// [`BadResource`] when it is not one DNS label.
    pub fn new(name: &str) -> Result<Self, BadResource> {
        check(name)?;
        Ok(Self(name.into()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_one_dns_label() {
        for good in ["a", "my-resource", "r2d2", "0abc", &"a".repeat(63)] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            &"a".repeat(64),
            "-a",
            "a-",
            "My-Resource",
            "a.b",
            "evil.com",
            "a/b",
            "a:443",
            "a@b",
            "a%2eb",
            "a b",
            "a_b",
            "..",
            "{resource}",
            "ä",
            "a\u{0}",
        ] {
            assert_eq!(check(bad), Err(BadResource), "{bad:?}");
        }
    }

    #[test]
    fn the_name_goes_in_the_slot_and_only_there() {
        let template = "https://{resource}.openai.azure.com";
        assert_eq!(
            base_url(template, "contoso").unwrap(),
            "https://contoso.openai.azure.com"
        );
        assert_eq!(
            base_url(template, "evil.com#"),
            Err(BadResource),
            "a name that would end the host is refused"
        );
    }

    #[test]
    fn a_path_starts_with_its_resource() {
        let contoso = Resource::new("contoso").unwrap();
        assert_eq!(
            split_path("/contoso/openai/v1/models"),
            Ok((contoso.clone(), "/openai/v1/models"))
        );
        assert_eq!(split_path("contoso/x"), Ok((contoso, "/x")));
        for bad in ["/contoso", "/", "", "/Evil.com/x", "//x", "/a%2fb/x"] {
            assert_eq!(split_path(bad), Err(BadResource), "{bad:?}");
        }
        assert!(BadResource.to_string().contains("1 to 63"));
    }
}
