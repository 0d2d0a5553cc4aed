//! `config::load_str` on any text: it never panics, it never hangs (libFuzzer's `-timeout`), an
//! error always lists at least one issue and every issue names a non-empty key path and says
//! something, and whatever loads satisfies the `Config` invariants (module docs of
//! `gatekit::config`). Relative paths resolve against the temp dir, so `cwd: .` can succeed.
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use gatekit::config::{load_str, ConfigError, MAX_ISSUES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `load` turns non-UTF-8 files into one document issue before parsing; only text reaches here.
    let text = String::from_utf8_lossy(data);
    let path = std::env::temp_dir().join("gatekit-fuzz.yaml");
    match load_str(&text, &path) {
        Ok(config) => {
            assert!(
                config.enabled_upstreams().count() >= 1,
                "no enabled upstream"
            );
            let mut names = HashSet::new();
            for up in &config.proxy.upstreams {
                assert!(
                    !up.name.is_empty() && !up.name.contains("__"),
                    "name {:?}",
                    up.name
                );
                assert!(
                    names.insert(up.name.clone()),
                    "duplicate upstream {:?}",
                    up.name
                );
                assert!(
                    up.command.first().is_some_and(|c| !c.is_empty()),
                    "empty command"
                );
                assert!(up.cwd.as_deref().is_none_or(Path::is_absolute));
            }
            assert!(config
                .logging
                .file_path
                .as_deref()
                .is_none_or(Path::is_absolute));
            assert!((1..=1_000_000).contains(&config.proxy.max_in_flight));
        }
        Err(ConfigError::Invalid { issues, .. }) => {
            assert!(!issues.is_empty(), "an error without issues");
            assert!(issues.len() <= MAX_ISSUES + 1, "{} issues", issues.len());
            for issue in &issues {
                assert!(!issue.key.is_empty(), "empty key path in {issues:?}");
                assert!(!issue.message.is_empty(), "empty message in {issues:?}");
            }
        }
        Err(e @ ConfigError::Read { .. }) => panic!("load_str read a file: {e}"),
    }
});
