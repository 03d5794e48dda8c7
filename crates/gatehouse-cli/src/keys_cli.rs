//! `gatehouse keys list|rotate`: the token signing keys, straight on the database.

use std::process::ExitCode;

use gatehouse_server::config::Config;

pub async fn run(config: Config, rotate: bool) -> anyhow::Result<ExitCode> {
    let keys = gatehouse_server::signing::offline(&config, rotate).await?;
    println!(
        "{:<45} {:<6} {:<9} {:<25} verifies until",
        "kid", "alg", "state", "created"
    );
    for k in keys {
        println!(
            "{:<45} {:<6} {:<9} {:<25} {}",
            k.kid,
            k.algorithm,
            serde_json::to_value(k.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            k.created_at.to_rfc3339(),
            k.verifies_until.map(|t| t.to_rfc3339()).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
