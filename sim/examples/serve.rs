//! Serves a simulated org for trying real Salesforce clients against it:
//! `cargo run -p runner-sim --example serve -- [SCENARIO] [PORT] [TOKEN] [CERT_FILE]`.
//! With CERT_FILE it serves HTTPS and writes the certificate to trust there.

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
    let cert_file = args.next();
    config.tls = cert_file.is_some();
    let handle = runner_sim::start(config).await?;
    if let (Some(path), Some(pem)) = (cert_file, handle.certificate_pem()) {
        std::fs::write(&path, pem)?;
        println!("certificate: {path}");
    }
    println!("instance url: {}", handle.instance_url());
    println!("token: {}", handle.token());
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
