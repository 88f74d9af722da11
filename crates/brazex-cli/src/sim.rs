//! `brazex sim`: the Braze simulator on loopback, until Ctrl-C.

use std::net::SocketAddr;

use anyhow::Context;
use brazex_sim::{SegmentConfig, SimConfig, Simulator};

use crate::args::SimArgs;
use crate::exit::UsageError;

pub fn sim(args: &SimArgs) -> anyhow::Result<()> {
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        UsageError(format!(
            "--listen: '{}' is not an address like 127.0.0.1:8765",
            args.listen
        ))
    })?;
    let spool = tempfile::tempdir().context("cannot create the simulator's spool folder")?;
    let mut config = SimConfig::new(spool.path());
    config.ready_after = args.ready_after;
    for segment in &mut config.segments {
        if segment.id == "all" || segment.id == "us-only" {
            segment.users = args.users;
        }
    }
    let running = Simulator::spawn_background_on(config, addr)?;
    let segments: Vec<String> = running
        .config()
        .segments
        .iter()
        .map(|s: &SegmentConfig| {
            format!(
                "{} ({} users{})",
                s.id,
                s.users,
                if s.us_only { ", US only" } else { "" }
            )
        })
        .collect();
    // The simulator's key is a fixed test key, not a secret: printing it is the point.
    println!("brazex sim: listening on {}", running.endpoint());
    println!("  segments: {}", segments.join(", "));
    println!("  try:");
    println!("    export BRAZE_REST_ENDPOINT={}", running.endpoint());
    println!("    export BRAZE_API_KEY={}", running.api_key());
    println!("    brazex run --segment-id all --poll-interval 1 --select external_id,email,country | head");
    println!("  Ctrl-C stops it.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    runtime
        .block_on(tokio::signal::ctrl_c())
        .context("cannot wait for Ctrl-C")?;
    running.shutdown();
    Ok(())
}
