//! An operator's configuration file: reading and validating it never panics, and whatever it
//! says, a validated setting is within its bounds.
#![no_main]

use byok_proxy::Args;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(args) = toml::from_str::<Args>(text) else {
        return;
    };
    // No file is ever read from a fuzzed path.
    if args.upstream_ca.is_some() || args.static_dir.is_some() {
        return;
    }
    let Ok(settings) = Args::default().or(args).validate(|_| None) else {
        return;
    };
    assert!(settings.workers >= 1 && settings.limits.max_concurrent >= 1);
    assert!(settings.max_connections >= 1);
    assert!(!settings.idle_timeout.is_zero() && !settings.header_read_timeout.is_zero());
    for base in settings.upstream.base_urls.values() {
        assert!(
            base.starts_with("http://") || base.starts_with("https://"),
            "{base}"
        );
    }
});
