#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Directory sign-in against a real OpenLDAP (`slapd` from Debian), started per test
//! by `gatehouse_directory::harness::Slapd` on free ports with a throwaway configuration.

mod refusals;
mod sign_in;
mod transport;

use gatehouse_directory::{Directory, DirectoryConfig, DirectoryError, DirectoryUser};

pub fn directory(config: DirectoryConfig) -> Directory {
    Directory::new(config).expect("a valid directory configuration")
}

pub async fn sign_in(
    config: &DirectoryConfig,
    login: &str,
    password: &str,
) -> Result<DirectoryUser, DirectoryError> {
    directory(config.clone())
        .authenticate(login, password)
        .await
}

/// An address on 127.0.0.1 that nothing listens on (it did a moment ago).
pub fn port_nobody_listens_on() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
