//! `config::load_str` on hostile input: it never panics, every rejection carries issues with
//! non-empty key paths, and everything it accepts satisfies the `Config` invariants.

use gatekit::config::{self, ConfigError, MAX_ISSUES};
use proptest::prelude::*;
use std::collections::HashSet;
use std::path::Path;

const FIXTURES: [&str; 4] = [
    include_str!("fixtures/config/gatekit-full.yaml"),
    include_str!("fixtures/config/gatekit-reference.yaml"),
    include_str!("fixtures/config/wizard.yaml"),
    include_str!("fixtures/config/extensions.yaml"),
];

/// Fragments that steer random documents into the schema's corners.
const TOKENS: [&str; 40] = [
    "proxy:",
    "plugins:",
    "logging:",
    "upstreams:",
    "transport: stdio",
    "transport: http",
    "- name: a",
    "- name: a__b",
    "name: ''",
    "command: [a]",
    "command: []",
    "command: a",
    "enabled: false",
    "enabled: maybe",
    "timeouts:",
    "request_timeout: 0",
    "request_timeout: -1.5",
    "request_timeout: .nan",
    "max_in_flight: 0",
    "max_in_flight: 18446744073709551616",
    "file_path: ${UNDEFINED_GATEKIT_VAR}",
    "file_path: ~",
    "cwd: ~/",
    "handlers: [file]",
    "sandbox: {enabled: true}",
    "hot_reload: auto",
    "- handler: x",
    "_global:",
    "<<: *a",
    "&a {x: 1}",
    "*a",
    "!!binary aGk=",
    "? [complex, key]",
    "{",
    "]",
    "\t",
    "  ",
    "\n",
    "---",
    "0: 1",
];

/// Checks the outcome of loading `yaml`; `Ok(true)` when it loaded.
fn check(yaml: &str) -> Result<bool, TestCaseError> {
    match config::load_str(yaml, Path::new("/etc/gatekit/gatekit.yaml")) {
        Ok(config) => {
            prop_assert!(config.enabled_upstreams().count() >= 1);
            let mut names = HashSet::new();
            for upstream in &config.proxy.upstreams {
                prop_assert!(!upstream.command.is_empty() && !upstream.command[0].is_empty());
                prop_assert!(!upstream.name.is_empty() && !upstream.name.contains("__"));
                prop_assert!(
                    names.insert(upstream.name.clone()),
                    "duplicate {}",
                    upstream.name
                );
                prop_assert!(upstream.cwd.as_deref().is_none_or(Path::is_absolute));
            }
            prop_assert!(config
                .logging
                .file_path
                .as_deref()
                .is_none_or(Path::is_absolute));
            prop_assert!((1..=1_000_000).contains(&config.proxy.max_in_flight));
            prop_assert!(!config.proxy.request_timeout.is_zero());
            return Ok(true);
        }
        Err(ConfigError::Invalid { issues, .. }) => {
            prop_assert!(!issues.is_empty());
            prop_assert!(issues.len() <= MAX_ISSUES + 1);
            for issue in &issues {
                prop_assert!(!issue.key.is_empty(), "empty key in {issues:?}");
                prop_assert!(!issue.message.is_empty(), "empty message in {issues:?}");
            }
        }
        Err(err @ ConfigError::Read { .. }) => {
            prop_assert!(false, "load_str does not read files: {err}")
        }
    }
    Ok(false)
}

/// One edit of a document, applied line-wise so multi-byte characters stay whole.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Insert(usize, usize, usize),
    ReplaceValue(usize, usize),
    Indent(usize, usize),
    TruncateChars(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let line = 0..200usize;
    let token = 0..TOKENS.len();
    prop_oneof![
        line.clone().prop_map(Edit::Delete),
        line.clone().prop_map(Edit::Duplicate),
        (line.clone(), token.clone(), 0..8usize).prop_map(|(l, t, i)| Edit::Insert(l, t, i)),
        (line.clone(), token).prop_map(|(l, t)| Edit::ReplaceValue(l, t)),
        (line.clone(), 0..9usize).prop_map(|(l, i)| Edit::Indent(l, i)),
        (line, 0..80usize).prop_map(|(l, n)| Edit::TruncateChars(l, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let len = lines.len();
        let at = |i: usize| i % len;
        match *edit {
            Edit::Delete(i) => {
                lines.remove(at(i));
            }
            Edit::Duplicate(i) => {
                let line = lines[at(i)].clone();
                lines.insert(at(i), line);
            }
            Edit::Insert(i, t, indent) => {
                lines.insert(at(i), format!("{}{}", " ".repeat(indent), TOKENS[t]))
            }
            Edit::ReplaceValue(i, t) => {
                let line = &mut lines[at(i)];
                let key_end = line.find(':').map_or(0, |c| c + 1);
                line.truncate(key_end);
                line.push(' ');
                line.push_str(TOKENS[t]);
            }
            Edit::Indent(i, n) => {
                let line = &mut lines[at(i)];
                let trimmed = line.trim_start().to_owned();
                *line = format!("{}{trimmed}", " ".repeat(n));
            }
            Edit::TruncateChars(i, n) => {
                let line = &mut lines[at(i)];
                *line = line.chars().take(n).collect();
            }
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec((0..TOKENS.len(), 0..6usize), 0..40)) {
        let text: String = parts
            .iter()
            .map(|&(t, indent)| format!("{}{}\n", " ".repeat(indent), TOKENS[t]))
            .collect();
        check(&text)?;
    }

    #[test]
    fn mutated_fixtures_never_panic(fixture in 0..FIXTURES.len(), edits in prop::collection::vec(edit(), 1..6)) {
        check(&apply(FIXTURES[fixture], &edits))?;
    }
}

/// Exhaustive single edits: every fixture line deleted, and every value line of the full example
/// replaced by every token. (Kept to one fixture for the replacements: YAML parsing is slow in
/// debug builds.)
#[test]
fn every_single_line_edit_of_the_fixtures_is_handled() -> Result<(), TestCaseError> {
    let mut outcomes = Vec::new();
    for fixture in FIXTURES {
        for line in 0..fixture.lines().count() {
            outcomes.push(check(&apply(fixture, &[Edit::Delete(line)]))?);
        }
    }
    let full = FIXTURES[0];
    for (line, text) in full.lines().enumerate() {
        if text.trim_start().starts_with('#') || !text.contains(':') {
            continue;
        }
        for token in 0..TOKENS.len() {
            outcomes.push(check(&apply(full, &[Edit::ReplaceValue(line, token)]))?);
        }
    }
    // Both sides of the property were exercised: the edits are neither all fatal nor all harmless.
    let loaded = outcomes.iter().filter(|ok| **ok).count();
    let rejected = outcomes.len() - loaded;
    prop_assert!(
        loaded > 50 && rejected > 500,
        "loaded {loaded}, rejected {rejected}"
    );
    Ok(())
}
