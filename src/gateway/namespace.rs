//! `server__name` namespacing, the one rule used everywhere.
//!
//! Upstream names never contain `__` (the config rejects them), so the separator is the first `__`
//! in a namespaced name; whatever follows it — including further `__` — is the upstream's own name.
//! Tools, prompts, resource URIs and URI templates all use the same form (`server__file:///x`).

/// The separator between the upstream name and the upstream's own name.
pub const SEPARATOR: &str = "__";

/// Splits `server__name` into `("server", "name")`; `None` when there is no separator or either side
/// is empty.
pub fn split(namespaced: &str) -> Option<(&str, &str)> {
    let (server, rest) = namespaced.split_once(SEPARATOR)?;
    if server.is_empty() || rest.is_empty() {
        return None;
    }
    Some((server, rest))
}

/// Joins an upstream name and the upstream's own name.
pub fn join(server: &str, name: &str) -> String {
    let mut s = String::with_capacity(server.len() + SEPARATOR.len() + name.len());
    s.push_str(server);
    s.push_str(SEPARATOR);
    s.push_str(name);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_separator_only() {
        assert_eq!(split("fs__read_file"), Some(("fs", "read_file")));
        assert_eq!(split("echo__echo"), Some(("echo", "echo")));
        assert_eq!(split("a__b__c"), Some(("a", "b__c")));
        assert_eq!(split("a___b"), Some(("a", "_b")));
        assert_eq!(
            split("everything__demo://resource/1"),
            Some(("everything", "demo://resource/1"))
        );
    }

    #[test]
    fn rejects_names_without_both_sides() {
        assert_eq!(split("echo"), None);
        assert_eq!(split("__echo"), None);
        assert_eq!(split("echo__"), None);
        assert_eq!(split(""), None);
    }

    #[test]
    fn join_is_the_inverse_of_split() {
        let joined = join("time", "get_current_time");
        assert_eq!(joined, "time__get_current_time");
        assert_eq!(split(&joined), Some(("time", "get_current_time")));
    }
}
