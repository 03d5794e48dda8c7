//! The `gatehouse-console` binary.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    gatehouse_console::run();
}
