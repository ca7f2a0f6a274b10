//! Why this window of the vault's origin was opened, read from its URL's hash: the settings
//! page (`#keys`, `#security`, …), perhaps for an app's frame (`&frame=<id>`: once unlocked,
//! the vault is handed to that frame), or to ask the person's consent for an app that opened
//! it (`#connect`, `#grant`).

/// What the window is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The settings page.
    Settings,
    /// An app asks to be connected.
    Connect,
    /// An app asks for a grant.
    Grant,
}

/// Why the window was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// What for.
    pub purpose: Purpose,
    /// The app frame to hand the unlocked vault to (32 hex digits).
    pub frame: Option<String>,
    /// The hash without its parameters (`#keys`), for the settings page's tab.
    pub tab: String,
}

/// Reads `hash` (`location.hash`, with its `#`).
#[must_use]
pub fn opened(hash: &str) -> Opened {
    let mut parts = hash.split('&');
    let tab = parts.next().unwrap_or_default().to_owned();
    let frame = parts
        .filter_map(|p| p.strip_prefix("frame="))
        .find(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase);
    let purpose = match tab.as_str() {
        "#connect" => Purpose::Connect,
        "#grant" => Purpose::Grant,
        _ => Purpose::Settings,
    };
    Opened {
        purpose,
        frame,
        tab,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_says_what_the_window_is_for() {
        let id = "0123456789abcdef0123456789ABCDEF";
        let settings = opened(&format!("#keys&frame={id}"));
        assert_eq!(settings.purpose, Purpose::Settings);
        assert_eq!(settings.frame.as_deref(), Some(&*id.to_ascii_lowercase()));
        assert_eq!(settings.tab, "#keys");
        assert_eq!(opened("#connect").purpose, Purpose::Connect);
        assert_eq!(opened("#grant").purpose, Purpose::Grant);
        assert_eq!(opened("").purpose, Purpose::Settings);
        assert_eq!(opened("#security").tab, "#security");
        for bad in [
            "#keys&frame=",
            "#keys&frame=xyz",
            "#keys&frame=0123",
            "#keys&frame=g123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(opened(bad).frame, None, "{bad}");
        }
    }
}
