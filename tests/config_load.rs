//! Loading Gatekit 0.3.0 config files: what loads, what it resolves to, and which key path every
//! kind of error names.

use gatekit::config::{self, Config, ConfigError, Issue, LogHandler, LogLevel, DOCUMENT_KEY};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn home() -> String {
    std::env::var("HOME").unwrap_or_default()
}

/// Where `load_str` configs pretend to live (it need not exist).
const CONFIG_PATH: &str = "/etc/gatekit/gatekit.yaml";

const MINIMAL: &str =
    "proxy:\n  transport: stdio\n  upstreams:\n    - name: echo\n      command: [echo]\n";

fn load_ok(yaml: &str) -> Config {
    match config::load_str(yaml, Path::new(CONFIG_PATH)) {
        Ok(config) => config,
        Err(err) => panic!("expected a valid config, got: {err}"),
    }
}

fn issues(yaml: &str) -> Vec<Issue> {
    match config::load_str(yaml, Path::new(CONFIG_PATH)) {
        Ok(config) => panic!("expected issues, got a config: {config:?}"),
        Err(err) => err.issues().to_vec(),
    }
}

fn keys(yaml: &str) -> Vec<String> {
    issues(yaml).into_iter().map(|issue| issue.key).collect()
}

/// The single issue of `yaml`, which must be at `key`.
fn only_issue(yaml: &str, key: &str) -> Issue {
    let found = issues(yaml);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].key, key, "{found:#?}");
    found[0].clone()
}

/// `MINIMAL` with `extra` appended under the first upstream (6-space indent).
fn with_upstream_keys(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn the_full_gatekit_example_loads() -> Result<(), ConfigError> {
    let path = fixtures().join("gatekit-full.yaml");
    let config = config::load(&path)?;
    let dir = fixtures().canonicalize().unwrap_or_default();
    assert_eq!(config.dir, dir);
    assert_eq!(config.path, dir.join("gatekit-full.yaml"));

    let proxy = &config.proxy;
    assert_eq!(proxy.request_timeout, Duration::from_secs(45));
    assert_eq!(proxy.connection_timeout, Duration::from_secs(30));
    assert_eq!(proxy.shutdown_grace, Duration::from_secs(5));
    assert_eq!(proxy.max_message_bytes, 16 * 1024 * 1024);
    assert_eq!(proxy.max_in_flight, 1024);
    assert_eq!(proxy.upstreams.len(), 2);

    let fs = &proxy.upstreams[0];
    assert_eq!(fs.name, "filesystem");
    assert!(fs.enabled && fs.restart_on_failure);
    assert_eq!(fs.max_restart_attempts, 3);
    let docs = format!("{}/docs", home().trim_end_matches('/'));
    assert_eq!(
        fs.command,
        [
            "npx",
            "-y",
            "@modelcontextprotocol/server-filesystem",
            docs.as_str()
        ]
    );
    assert_eq!(
        fs.server_identity.as_deref(),
        Some("secure-filesystem-server")
    );
    assert!(fs.env.is_empty() && fs.cwd.is_none());
    assert_eq!(fs.effective_request_timeout(proxy), Duration::from_secs(45));

    let tools = &proxy.upstreams[1];
    assert!(!tools.enabled && !tools.restart_on_failure);
    assert_eq!(tools.max_restart_attempts, 0);
    let program = dir.join("bin/tools-server");
    assert_eq!(
        tools.command,
        [program.to_str().unwrap_or_default(), "--root", "data"]
    );

    let enabled: Vec<&str> = config
        .enabled_upstreams()
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(enabled, ["filesystem"]);

    let logging = &config.logging;
    assert_eq!(logging.level, LogLevel::Info);
    assert_eq!(logging.handlers, [LogHandler::Stderr, LogHandler::File]);
    assert_eq!(logging.file_path, Some(dir.join("logs/gatekit.log")));
    assert_eq!(
        (logging.max_file_size_mb, logging.max_file_bytes),
        (10, 10 * 1024 * 1024)
    );
    assert_eq!(logging.backup_count, 5);
    assert_eq!(
        logging.format.as_deref(),
        Some("%(asctime)s [%(levelname)s] %(name)s: %(message)s")
    );
    assert_eq!(logging.date_format.as_deref(), Some("%Y-%m-%d %H:%M:%S"));
    Ok(())
}

#[test]
fn the_verbatim_reference_names_every_feature_not_supported_yet() {
    let err = config::load(&fixtures().join("gatekit-reference.yaml")).err();
    let found: Vec<String> = err
        .iter()
        .flat_map(|e| e.issues())
        .map(ToString::to_string)
        .collect();
    let expected = [
        "not supported yet: proxy.http",
        "not supported yet: proxy.upstreams[0].tls_verify",
        "not supported yet: proxy.upstreams[1].transport = http",
        "not supported yet: proxy.upstreams[1].url",
        "not supported yet: proxy.upstreams[1].tls_verify",
    ];
    assert_eq!(found[..expected.len()], expected, "{found:#?}");
    assert_eq!(found.len(), expected.len() + 1, "{found:#?}");
    assert!(
        found[expected.len()].starts_with("not supported yet: plugins.security._global[0]"),
        "{found:#?}"
    );
}

#[test]
fn a_wizard_style_file_loads() -> Result<(), ConfigError> {
    let config = config::load(&fixtures().join("wizard.yaml"))?;
    let dir = fixtures().canonicalize().unwrap_or_default();
    assert_eq!(config.logging.handlers, [LogHandler::File]);
    assert_eq!(
        config.logging.file_path,
        Some(dir.join("logs/gatekit_debug.log"))
    );
    let names: Vec<&str> = config
        .enabled_upstreams()
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(names, ["everything", "sqlite"]);
    let db = format!("{}/test.db", home().trim_end_matches('/'));
    assert_eq!(
        config.proxy.upstreams[1].command,
        ["uvx", "mcp-server-sqlite", "--db-path", db.as_str()]
    );
    Ok(())
}

#[test]
fn gatekit_extensions_load_and_resolve() -> Result<(), ConfigError> {
    let config = config::load(&fixtures().join("extensions.yaml"))?;
    let dir = fixtures().canonicalize().unwrap_or_default();
    let proxy = &config.proxy;
    assert_eq!(proxy.max_message_bytes, 32 * 1024 * 1024);
    assert_eq!(proxy.request_timeout, Duration::from_millis(2500));
    assert_eq!(proxy.shutdown_grace, Duration::from_millis(500));
    let (echo, plain) = (&proxy.upstreams[0], &proxy.upstreams[1]);
    let program = dir.join("mock/echo");
    assert_eq!(
        echo.command,
        [
            program.to_str().unwrap_or_default(),
            "--package",
            env!("CARGO_PKG_NAME")
        ]
    );
    assert_eq!(echo.cwd.as_deref(), Some(dir.as_path()));
    assert_eq!(echo.env.get("RUST_LOG").map(String::as_str), Some("debug"));
    // Environment values are not paths: `${VAR}` expands, `~` stays.
    assert_eq!(
        echo.env.get("LITERAL").map(String::as_str),
        Some("~/not-a-path")
    );
    assert_eq!(
        echo.env.get("ORIGIN").cloned(),
        Some(format!("from-{}", env!("CARGO_PKG_NAME")))
    );
    assert_eq!(
        echo.effective_request_timeout(proxy),
        Duration::from_secs(10)
    );
    assert_eq!(echo.effective_max_in_flight(proxy), 4);
    assert_eq!(
        plain.effective_request_timeout(proxy),
        Duration::from_millis(2500)
    );
    assert_eq!(plain.effective_max_in_flight(proxy), 256);
    Ok(())
}

#[test]
fn defaults_fill_in_a_minimal_file() {
    let config = load_ok(MINIMAL);
    assert_eq!(config.dir, Path::new("/etc/gatekit"));
    assert_eq!(config.proxy.request_timeout, Duration::from_secs(60));
    assert_eq!(config.proxy.connection_timeout, Duration::from_secs(60));
    assert_eq!(config.logging, config::LoggingConfig::default());
    assert_eq!(config.logging.handlers, [LogHandler::Stderr]);
    let echo = &config.proxy.upstreams[0];
    assert!(echo.enabled && echo.restart_on_failure && echo.request_timeout.is_none());
    assert_eq!(echo.max_restart_attempts, 3);
}

#[test]
fn unknown_keys_are_all_reported_with_their_paths() {
    let yaml = "\
proxy:
  transport: stdio
  timeout: 5
  timeouts:
    request_timeot: 5
  upstreams:
    - name: a
      command: [a]
    - name: b
      comand: [b]
      sandbox: {enabled: false, net: true}
logging:
  levle: INFO
extra: 1
";
    let found = issues(yaml);
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "extra",
            "proxy.timeout",
            "proxy.timeouts.request_timeot",
            "logging.levle",
            "proxy.upstreams[1].comand",
            "proxy.upstreams[1].sandbox.net",
            "proxy.upstreams[1].command",
        ]
    );
    assert!(
        found
            .iter()
            .take(6)
            .all(|i| i.message.starts_with("unknown key")),
        "{found:#?}"
    );
    assert_eq!(found[4].message, "unknown key (did you mean `command`?)");
    assert_eq!(found[3].message, "unknown key (did you mean `level`?)");
}

#[test]
fn claude_desktop_spellings_get_pointed_hints() {
    let found = issues("mcpServers: {}\nproxy:\n  transport: stdio\n  upstreams: {name: a, command: [a], args: [x]}\n");
    assert_eq!(found[0].key, "mcpServers");
    assert!(found[0].message.contains("proxy.upstreams"), "{found:#?}");
    assert_eq!(found[1].key, "proxy.upstreams.args");
    assert!(found[1].message.contains("`command` list"), "{found:#?}");
}

#[test]
fn upstream_names_are_unique_and_namespace_safe() {
    let yaml = "proxy:\n  transport: stdio\n  upstreams:\n    - {name: a, command: [a]}\n    - {name: b, command: [b]}\n    - {name: a, command: [c]}\n";
    let issue = only_issue(yaml, "proxy.upstreams[2].name");
    assert!(
        issue.message.contains("duplicate") && issue.message.contains("proxy.upstreams[0]"),
        "{issue:?}"
    );

    for (name, needle) in [
        ("my__server", "`__`"),
        ("my.server", "only ASCII"),
        ("''", "empty"),
        ("a_", "end with"),
    ] {
        let yaml = format!(
            "proxy:\n  transport: stdio\n  upstreams:\n    - {{name: {name}, command: [a]}}\n"
        );
        let issue = only_issue(&yaml, "proxy.upstreams[0].name");
        assert!(issue.message.contains(needle), "{name}: {issue:?}");
    }
    only_issue(
        "proxy:\n  transport: stdio\n  upstreams:\n    - command: [a]\n",
        "proxy.upstreams[0].name",
    );
}

#[test]
fn command_must_be_a_non_empty_list_of_strings() {
    let base = "proxy:\n  transport: stdio\n  upstreams:\n    - name: a\n";
    let missing = only_issue(base, "proxy.upstreams[0].command");
    assert!(missing.message.starts_with("required"), "{missing:?}");
    let string = only_issue(
        &format!("{base}      command: npx -y server\n"),
        "proxy.upstreams[0].command",
    );
    assert!(string.message.contains("list of strings"), "{string:?}");
    only_issue(
        &format!("{base}      command: []\n"),
        "proxy.upstreams[0].command",
    );
    only_issue(
        &format!("{base}      command: [npx, {{a: b}}]\n"),
        "proxy.upstreams[0].command[1]",
    );
    only_issue(
        &format!("{base}      command: ['']\n"),
        "proxy.upstreams[0].command[0]",
    );
}

#[test]
fn plugins_are_not_supported_yet_and_name_the_first_entry() {
    let yaml = format!(
        "{MINIMAL}plugins:\n  security:\n    echo: []\n  auditing:\n    _global:\n      - handler: audit_jsonl\n        config: {{output_file: a.jsonl}}\n"
    );
    let issue = only_issue(&yaml, "plugins.auditing._global[0]");
    assert!(
        issue
            .message
            .starts_with("not supported yet: plugins.auditing._global[0]"),
        "{issue:?}"
    );
    assert!(issue.message.contains("audit_jsonl"), "{issue:?}");

    // Empty sections, empty lists and `_` keys configure nothing, so they load.
    load_ok(&format!(
        "{MINIMAL}plugins:\n  security: {{_global: []}}\n  middleware:\n  _anchors: [1]\n"
    ));
    only_issue(
        &format!("{MINIMAL}plugins:\n  filters: {{}}\n"),
        "plugins.filters",
    );
    only_issue(
        &format!("{MINIMAL}plugins:\n  security: {{Echo: []}}\n"),
        "plugins.security.Echo",
    );
}

#[test]
fn http_transports_are_not_supported_yet() {
    let issue = only_issue(
        &MINIMAL.replace("transport: stdio", "transport: http"),
        "proxy.transport",
    );
    assert_eq!(issue.message, "not supported yet: proxy.transport = http");
    assert_eq!(
        issue.to_string(),
        "not supported yet: proxy.transport = http"
    );

    let issue = only_issue(
        &format!("{MINIMAL}  http: {{host: 127.0.0.1, port: 8080}}\n"),
        "proxy.http",
    );
    assert_eq!(issue.message, "not supported yet: proxy.http");

    let yaml = "proxy:\n  transport: stdio\n  upstreams:\n    - {name: a, command: [a]}\n    - {name: r, transport: http, url: 'https://x/mcp', tls_verify: false}\n";
    assert_eq!(
        keys(yaml),
        [
            "proxy.upstreams[1].transport",
            "proxy.upstreams[1].url",
            "proxy.upstreams[1].tls_verify"
        ]
    );
    only_issue(
        &MINIMAL.replace("transport: stdio", "transport: sse"),
        "proxy.transport",
    );
}

#[test]
fn sandboxing_and_hot_reload_are_not_supported_yet() {
    let issue = only_issue(
        &with_upstream_keys("      sandbox: {enabled: true}\n"),
        "proxy.upstreams[0].sandbox.enabled",
    );
    assert!(issue.message.starts_with("not supported yet"), "{issue:?}");
    load_ok(&with_upstream_keys(
        "      sandbox: {enabled: false, paths: [data], network: false}\n",
    ));
    only_issue(
        &with_upstream_keys("      sandbox: {paths: ['*.txt']}\n"),
        "proxy.upstreams[0].sandbox.paths[0]",
    );

    for mode in ["auto", "enabled"] {
        let issue = only_issue(
            &format!("{MINIMAL}  hot_reload: {mode}\n"),
            "proxy.hot_reload",
        );
        assert_eq!(
            issue.message,
            format!("not supported yet: proxy.hot_reload = {mode}")
        );
    }
    load_ok(&format!("{MINIMAL}  hot_reload: disabled\n"));
    only_issue(
        &format!("{MINIMAL}  hot_reload: sometimes\n"),
        "proxy.hot_reload",
    );
}

#[test]
fn plugins_and_logging_under_proxy_are_rejected() {
    let yaml = format!("{MINIMAL}  logging: {{level: DEBUG}}\n  plugins: {{}}\n");
    let found = issues(&yaml);
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["proxy.plugins", "proxy.logging"]);
    assert!(
        found.iter().all(|i| i.message.contains("top level")),
        "{found:#?}"
    );
}

#[test]
fn required_sections_are_named() {
    only_issue("", "proxy");
    only_issue("logging: {level: INFO}\n", "proxy");
    only_issue(
        "proxy:\n  upstreams: {name: a, command: [a]}\n",
        "proxy.transport",
    );
    only_issue("proxy:\n  transport: stdio\n", "proxy.upstreams");
    only_issue(
        "proxy:\n  transport: stdio\n  upstreams: []\n",
        "proxy.upstreams",
    );
    only_issue(
        "proxy:\n  transport: stdio\n  upstreams: echo\n",
        "proxy.upstreams",
    );
    only_issue(
        "proxy:\n  transport: stdio\n  upstreams: [echo]\n",
        "proxy.upstreams[0]",
    );
    only_issue("proxy: [1]\n", "proxy");
    only_issue(&format!("{MINIMAL}  timeouts: 5\n"), "proxy.timeouts");
    let issue = only_issue(
        &with_upstream_keys("      enabled: false\n"),
        "proxy.upstreams",
    );
    assert!(
        issue.message.contains("no upstream is enabled"),
        "{issue:?}"
    );
}

#[test]
fn the_single_mapping_form_is_wrapped() {
    let config = load_ok(
        "proxy:\n  transport: stdio\n  upstreams:\n    name: solo\n    command: [solo, --x]\n",
    );
    assert_eq!(config.proxy.upstreams.len(), 1);
    assert_eq!(config.proxy.upstreams[0].command, ["solo", "--x"]);
    only_issue(
        "proxy:\n  transport: stdio\n  upstreams:\n    name: solo\n",
        "proxy.upstreams.command",
    );
}

#[test]
fn type_errors_name_their_paths_all_at_once() {
    let yaml = "\
proxy:
  transport: stdio
  max_in_flight: lots
  timeouts: {request_timeout: '60', connection_timeout: 5}
  upstreams:
    - name: a
      command: [a]
      enabled: maybe
      max_restart_attempts: -1
      env: {PORT: 8080}
logging:
  backup_count: 1.5
";
    let found = issues(yaml);
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "proxy.max_in_flight",
            "proxy.timeouts.request_timeout",
            "logging.backup_count",
            "proxy.upstreams[0].enabled",
            "proxy.upstreams[0].max_restart_attempts",
            "proxy.upstreams[0].env.PORT",
        ]
    );
    assert!(
        found[0].message.contains("non-negative integer"),
        "{found:#?}"
    );
    assert!(found[1].message.contains("expected a number"), "{found:#?}");
}

#[test]
fn ranges_are_checked() {
    for (yaml, key) in [
        (
            "  timeouts: {request_timeout: 0}\n",
            "proxy.timeouts.request_timeout",
        ),
        (
            "  timeouts: {connection_timeout: -5}\n",
            "proxy.timeouts.connection_timeout",
        ),
        (
            "  timeouts: {shutdown_grace: .inf}\n",
            "proxy.timeouts.shutdown_grace",
        ),
        ("  max_in_flight: 0\n", "proxy.max_in_flight"),
        ("  max_in_flight: 1000001\n", "proxy.max_in_flight"),
        ("  max_message_bytes: 10\n", "proxy.max_message_bytes"),
    ] {
        only_issue(&format!("{MINIMAL}{yaml}"), key);
    }
    only_issue(
        &with_upstream_keys("      max_in_flight: 0\n"),
        "proxy.upstreams[0].max_in_flight",
    );
    only_issue(
        &with_upstream_keys("      request_timeout: 100000\n"),
        "proxy.upstreams[0].request_timeout",
    );
    only_issue(
        &format!("{MINIMAL}logging: {{max_file_size_mb: 0}}\n"),
        "logging.max_file_size_mb",
    );
    let config = load_ok(&format!(
        "{MINIMAL}  max_in_flight: 1000000\n  timeouts: {{request_timeout: 0.25}}\n"
    ));
    assert_eq!(config.proxy.max_in_flight, 1_000_000);
    assert_eq!(config.proxy.request_timeout, Duration::from_millis(250));
}

#[test]
fn logging_rules_match_gatekit() {
    let issue = only_issue(
        &format!("{MINIMAL}logging: {{handlers: [file]}}\n"),
        "logging.file_path",
    );
    assert!(issue.message.contains("\"file\""), "{issue:?}");
    only_issue(
        &format!("{MINIMAL}logging: {{handlers: [syslog]}}\n"),
        "logging.handlers[0]",
    );
    only_issue(
        &format!("{MINIMAL}logging: {{handlers: [stderr, stderr]}}\n"),
        "logging.handlers[1]",
    );
    only_issue(
        &format!("{MINIMAL}logging: {{level: LOUD}}\n"),
        "logging.level",
    );
    only_issue(
        &format!("{MINIMAL}logging: {{file_path: '  '}}\n"),
        "logging.file_path",
    );

    let config = load_ok(&format!(
        "{MINIMAL}logging: {{level: debug, handlers: [], max_file_size_mb: 0.5}}\n"
    ));
    assert_eq!(config.logging.level, LogLevel::Debug);
    assert!(config.logging.handlers.is_empty());
    assert_eq!(
        (
            config.logging.max_file_size_mb,
            config.logging.max_file_bytes
        ),
        (1, 512 * 1024)
    );
}

#[test]
fn relative_paths_home_and_variables_resolve() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("work"))?;
    let root = dir.path().canonicalize()?;
    let yaml = "\
proxy:
  transport: stdio
  upstreams:
    - name: a
      command: ['./bin/${CARGO_PKG_NAME}-server', '~/data', 'npx', '$1 ^x$', 'a$${b}']
      cwd: work
    - name: b
      command: ['${CARGO_PKG_NAME}', 'sub/dir']
      cwd: ~/
logging:
  handlers: [file]
  file_path: ./logs/../logs/${CARGO_PKG_NAME}.log
";
    let path = dir.path().join("gatekit.yaml");
    std::fs::write(&path, yaml)?;
    let config = config::load(&path).map_err(std::io::Error::other)?;
    let pkg = env!("CARGO_PKG_NAME");
    let (a, b) = (&config.proxy.upstreams[0], &config.proxy.upstreams[1]);
    let program = root.join(format!("bin/{pkg}-server"));
    let data = format!("{}/data", home().trim_end_matches('/'));
    assert_eq!(
        a.command,
        [
            program.to_str().unwrap_or_default(),
            data.as_str(),
            "npx",
            "$1 ^x$",
            "a${b}"
        ]
    );
    assert_eq!(a.cwd.as_deref(), Some(root.join("work").as_path()));
    // A bare program name stays a PATH lookup; only the program (element 0) is anchored.
    assert_eq!(b.command, [pkg, "sub/dir"]);
    assert_eq!(b.cwd.as_deref(), Some(Path::new(&home())));
    assert_eq!(
        config.logging.file_path,
        Some(root.join(format!("logs/../logs/{pkg}.log")))
    );
    Ok(())
}

#[test]
fn expansion_failures_name_their_keys() {
    let undefined = "${GATEKIT_TEST_SURELY_UNDEFINED_VARIABLE}";
    let issue = only_issue(
        &format!("{MINIMAL}logging: {{file_path: '{undefined}/g.log'}}\n"),
        "logging.file_path",
    );
    assert!(
        issue
            .message
            .contains("GATEKIT_TEST_SURELY_UNDEFINED_VARIABLE"),
        "{issue:?}"
    );
    let yaml = format!("proxy:\n  transport: stdio\n  upstreams:\n    - name: a\n      command: [a, '{undefined}']\n      env: {{X: '{undefined}'}}\n");
    assert_eq!(
        keys(&yaml),
        ["proxy.upstreams[0].command[1]", "proxy.upstreams[0].env.X"]
    );
    only_issue(
        &with_upstream_keys("      cwd: '${oops'\n"),
        "proxy.upstreams[0].cwd",
    );
    only_issue(
        &with_upstream_keys("      cwd: /surely/not/a/dir/of/this/machine\n"),
        "proxy.upstreams[0].cwd",
    );
}

#[test]
fn yaml_1_1_booleans_and_merge_keys_load() {
    let yaml = "\
proxy:
  transport: stdio
  upstreams:
    - &base {name: base, command: [base], restart_on_failure: no, max_restart_attempts: 7}
    - {<<: *base, name: a, command: [a], enabled: yes}
    - {<<: *base, name: b, command: [b], max_restart_attempts: 1, enabled: Off}
";
    let config = load_ok(yaml);
    let [base, a, b] = &config.proxy.upstreams[..] else {
        panic!("expected three upstreams: {config:?}");
    };
    assert!(!base.restart_on_failure && base.enabled);
    assert_eq!(
        (a.enabled, a.restart_on_failure, a.max_restart_attempts),
        (true, false, 7)
    );
    assert_eq!(a.command, ["a"]);
    assert_eq!((b.enabled, b.max_restart_attempts), (false, 1));
    // Anchors parked in keys outside the schema are unknown keys, as any other.
    only_issue(&format!("x-defaults: &d {{a: 1}}\n{MINIMAL}"), "x-defaults");
    only_issue(
        &with_upstream_keys("      enabled: maybe\n"),
        "proxy.upstreams[0].enabled",
    );
}

#[test]
fn broken_documents_are_document_issues() {
    for yaml in [
        "proxy: [unclosed\n",
        "- just\n- a list\n",
        "proxy: {}\n---\nproxy: {}\n",
        "a: 1\na: 2\n",
    ] {
        let found = issues(yaml);
        assert_eq!(found.len(), 1, "{yaml}: {found:#?}");
        assert_eq!(found[0].key, DOCUMENT_KEY, "{yaml}: {found:#?}");
    }
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    assert_eq!(keys(bomb), [DOCUMENT_KEY]);
}

#[test]
fn errors_render_one_issue_per_line() {
    let missing = config::load(Path::new("/surely/not/here/gatekit.yaml"));
    assert!(
        matches!(&missing, Err(ConfigError::Read { .. })),
        "{missing:?}"
    );
    assert!(missing
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .starts_with("cannot read /surely/not/here"));

    let yaml = "proxy:\n  transport: http\n  upstreams: {name: a__b, command: [a]}\n";
    let text = config::load_str(yaml, Path::new(CONFIG_PATH))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let expected = "invalid configuration /etc/gatekit/gatekit.yaml:\n  - not supported yet: proxy.transport = http\n  - proxy.upstreams.name: \"a__b\" must not contain `__`: it separates server and tool in `server__tool`";
    assert_eq!(text, expected);
}
