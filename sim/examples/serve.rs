//! Serves a simulated org for trying real Salesforce clients against it:
//! `cargo run -p runner-sim --example serve -- [SCENARIO] [PORT] [TOKEN]`.

use runner_sim::{Scenario, SimConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let scenario: Scenario = args.next().as_deref().unwrap_or("storeconnect").parse()?;
    let port: u16 = args.next().as_deref().unwrap_or("0").parse()?;
    let mut config = SimConfig { scenario, port, ..SimConfig::default() };
    if let Some(token) = args.next() {
        config.token = token;
    }
    let handle = runner_sim::start(config).await?;
    println!("instance url: {}", handle.instance_url());
    println!("token: {}", handle.token());
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
