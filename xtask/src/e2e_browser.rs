//! `cargo xtask e2e-browser` and `cargo xtask chat`: the `chat` example in real browsers.
//!
//! `e2e-browser` installs the pinned npm packages as `cargo xtask conformance` does (into
//! `target/conformance/`, with the test files of `conformance/browser/` copied next to them), builds the
//! example, and runs those files with `node --test`: each starts the example on a free port and drives
//! pages in headless Chromium (`/usr/bin/chromium`, or `$CHROMIUM`). Screenshots of failures go to
//! `target/e2e-browser/screenshots/`.
//!
//! `chat [ARGS...]` installs the same packages (the page loads the official browser client from them)
//! and runs the example with `ARGS`, e.g. `cargo xtask chat --port 8080`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Copies `conformance/` and installs its npm packages; returns the folder they are in.
fn prepare(root: &Path) -> Result<PathBuf, String> {
    let work = crate::target_dir(root).join("conformance");
    crate::conformance::prepare(&root.join("conformance"), &work)?;
    Ok(work)
}

/// Replaces the test files in `to` with those of `from` (one flat folder).
fn copy_tests(from: &Path, to: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(to);
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let (true, Some(name)) = (path.is_file(), path.file_name()) {
            fs::copy(&path, to.join(name)).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Runs the browser tests; `args` are filters (keep the test files whose name contains one of them).
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(unknown) = args.iter().find(|a| a.starts_with("--")) {
        return Err(format!("unknown option {unknown}"));
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("no browser at {chromium}: apt-get install chromium, or set CHROMIUM"));
    }
    let work = prepare(root)?;
    let tests = work.join("browser");
    copy_tests(&root.join("conformance").join("browser"), &tests)?;
    crate::cargo(&["build", "-p", "socketio", "--example", "chat"])?;

    let mut files: Vec<String> = fs::read_dir(&tests)
        .map_err(|e| format!("cannot list the browser tests: {e}"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .filter(|name| args.is_empty() || args.iter().any(|f| name.contains(f.as_str())))
        .map(|name| format!("browser/{name}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no browser test file matches".into());
    }

    let target = crate::target_dir(root);
    let screenshots = target.join("e2e-browser").join("screenshots");
    eprintln!("xtask: node --test {}", files.join(" "));
    let status = Command::new("node")
        .current_dir(&work)
        .args(["--test", "--test-reporter=spec"])
        .args(&files)
        .env("CHAT_BIN", target.join("debug").join("examples").join("chat"))
        .env("CHROMIUM", &chromium)
        .env("E2E_SCREENSHOTS", &screenshots)
        .status()
        .map_err(|e| format!("could not run node: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the browser tests failed ({status}); screenshots of failures: {}",
            screenshots.display()
        ))
    }
}

/// Runs the chat example with `args`, the browser client installed first.
pub fn chat(root: &Path, args: &[String]) -> Result<(), String> {
    let work = prepare(root)?;
    let mut command = vec!["run", "-p", "socketio", "--example", "chat", "--"];
    let client_js = work.join("node_modules/socket.io-client/dist/socket.io.min.js");
    let client_js = client_js.to_string_lossy();
    if !args.iter().any(|a| a == "--client-js") {
        command.extend(["--client-js", &client_js]);
    }
    command.extend(args.iter().map(String::as_str));
    crate::cargo(&command)
}
