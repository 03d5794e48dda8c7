//! End-to-end: the real `gatehouse` binary, as an operator runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod console;
mod crash;
mod serve;
mod sign_in_page;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `gatehouse` binary next to this test's own build (`make test` builds it first).
pub fn gatehouse_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|p| p.parent()).unwrap();
    let bin = dir.join("gatehouse");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bins` first",
        bin.display()
    );
    bin
}

/// Runs `gatehouse ARGS` with only the given GATEHOUSE_* variables set.
pub fn gatehouse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(gatehouse_bin());
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The value after `label` on its line of `gatehouse init`'s output.
pub fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no `{label}` in:\n{output}"))
}
