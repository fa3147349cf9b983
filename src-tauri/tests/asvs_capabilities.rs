//! The window's privileges, read from the files Tauri reads: the
//! capability grants exactly the commands the UI calls (ASVS 5.0 8.2.1,
//! function-level access only with explicit permission; 4.0.3's 4.1.3,
//! least privilege) and the CSP lets no script, style, frame or connection
//! in from anywhere but the app itself (5.0 3.4.3; 4.0.3's 14.4.3). No Tauri build needed:
//! these are parsed as text/JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "../src/command_names.rs"]
mod command_names;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `"name"` that directly follows one of `openers` in `source`.
fn quoted_after(source: &str, openers: &[&str]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for opener in openers {
        for (at, _) in source.match_indices(opener) {
            let rest = &source[at + opener.len()..];
            let name: String = rest.chars().take_while(|&c| c != '"').collect();
            assert!(
                rest.len() > name.len(),
                "unterminated string after {opener}"
            );
            found.insert(name);
        }
    }
    found
}

/// `logOutOthers` → `log_out_others`.
fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The UI's source files that ship: everything under ui/src except the dev
/// preview's fake backend and the tests.
fn shipped_ui_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "dev" && name != "tests" {
                shipped_ui_files(&path, out);
            }
        } else if (name.ends_with(".ts") || name.ends_with(".svelte") || name.ends_with(".js"))
            && !name.contains(".test.")
            && name != "preview.ts"
        {
            out.push(path);
        }
    }
}

#[test]
fn asvs_8_2_1_the_capability_grants_exactly_the_commands_the_ui_calls() {
    let capability = json("src-tauri/capabilities/main.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    assert!(
        capability.get("remote").is_none(),
        "no remote origin may call commands"
    );
    let permissions: Vec<&str> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .expect("plain permission names, no scoped objects")
        })
        .collect();
    let granted: BTreeSet<String> = permissions
        .iter()
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|n| n.replace('-', "_"))
        .collect();
    let plugin: Vec<&str> = permissions
        .iter()
        .copied()
        .filter(|p| !p.starts_with("allow-"))
        .collect();
    assert!(
        plugin.is_empty(),
        "no plugin or core API: changes reach the window on the channel it hands to `connect`, which needs no permission ({plugin:?})"
    );

    let declared: BTreeSet<String> = command_names::NAMES.iter().map(|s| s.to_string()).collect();
    let bindings = read("ui/src/lib/bindings.ts");
    // `commands.setServer(…)`: every generated command the shipped UI calls
    // (no command name is written by hand; bindings.ts maps each to its
    // Rust name).
    let mut files = Vec::new();
    shipped_ui_files(&root().join("ui/src"), &mut files);
    let mut ui_calls = BTreeSet::new();
    for file in files.iter().filter(|f| !f.ends_with("bindings.ts")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (at, _) in text.match_indices("commands.") {
            let rest = &text[at + "commands.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if rest[name.len()..].starts_with('(') {
                ui_calls.insert(snake_case(&name));
            }
        }
    }
    let generated = quoted_after(&bindings, &["__TAURI_INVOKE(\"", "__TAURI_INVOKE<void>(\""]);

    assert_eq!(granted, declared, "capability vs command_names.rs");
    assert_eq!(ui_calls, declared, "what the UI calls vs command_names.rs");
    assert_eq!(generated, declared, "bindings.ts vs command_names.rs");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("listen<") && !text.contains("listen("),
            "{}: the window hears Rust only on the channel",
            file.display()
        );
    }

    // api.ts (and the generated bindings it types) are the only door: no
    // other shipped file touches Tauri's JavaScript API.
    assert!(files.len() > 5, "found the UI sources: {files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        if name == "api.ts" || name == "bindings.ts" {
            for import in text.lines().filter(|l| l.contains("from \"@tauri-apps/")) {
                assert!(
                    import.contains("\"@tauri-apps/api/core\""),
                    "{name}: {import}"
                );
            }
            continue;
        }
        for forbidden in ["@tauri-apps/", "__TAURI", "invoke(", "ipc.localhost"] {
            assert!(
                !text.contains(forbidden),
                "{} uses {forbidden}: only ui/src/lib/api.ts may",
                file.display()
            );
        }
    }
}

#[test]
fn asvs_3_4_3_the_csp_admits_only_the_app_itself() {
    let conf = json("src-tauri/tauri.conf.json");
    let security = &conf["app"]["security"];
    let csp = security["csp"].as_object().expect("a CSP, as directives");
    let directive = |name: &str| -> Vec<String> {
        csp.get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the CSP lacks {name}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(directive("default-src"), ["'self'"]);
    assert_eq!(directive("script-src"), ["'self'"]);
    assert_eq!(directive("style-src"), ["'self'"]);
    assert_eq!(directive("object-src"), ["'none'"]);
    assert_eq!(directive("base-uri"), ["'none'"]);
    assert_eq!(directive("form-action"), ["'none'"]);
    assert_eq!(directive("frame-ancestors"), ["'none'"]);
    assert_eq!(directive("connect-src"), ["ipc:", "http://ipc.localhost"]);
    for (name, value) in csp {
        let value = value.as_str().unwrap();
        for source in value.split_whitespace() {
            assert!(
                !matches!(
                    source,
                    "'unsafe-inline'"
                        | "'unsafe-eval'"
                        | "'unsafe-hashes'"
                        | "*"
                        | "http:"
                        | "https:"
                        | "blob:"
                ),
                "{name} allows {source}"
            );
            if source.contains("://") {
                assert_eq!(
                    source, "http://ipc.localhost",
                    "{name} allows a remote {source}"
                );
            }
        }
    }
    // Nothing that would undo the CSP or hand the page more than api.ts.
    assert_ne!(security["dangerousDisableAssetCspModification"], true);
    assert!(security.get("dangerousRemoteDomainIpcAccess").is_none());
    assert_ne!(
        conf["app"]["withGlobalTauri"], true,
        "window.__TAURI__ stays off"
    );
    for window in conf["app"]["windows"].as_array().unwrap() {
        let url = window["url"].as_str().unwrap_or("index.html");
        assert!(
            !url.contains("://"),
            "the window loads remote content: {url}"
        );
    }
    // The page itself: no remote asset, no inline script for the CSP to refuse.
    let index = read("ui/index.html");
    assert!(!index.contains("http://") && !index.contains("https://"));
    for script in index.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains("src="), "inline script in index.html");
    }
}
