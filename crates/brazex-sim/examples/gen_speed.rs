//! Measures generation throughput on one core and prints size statistics.
//!
//! `cargo run --release -p brazex-sim --example gen_speed -- [users] [seed]`

use std::time::Instant;

use brazex_sim::{write_zip, GeneratorConfig, UserGenerator, DEFAULT_USERS_PER_ENTRY};

fn main() {
    let mut args = std::env::args().skip(1);
    let users: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(42);
    let gen = UserGenerator::new(GeneratorConfig::new(seed));
    let mut buf = Vec::with_capacity(1 << 20);
    let (mut bytes, mut max) = (0u64, 0usize);
    let start = Instant::now();
    for i in 0..users {
        buf.clear();
        gen.write_user(i, &mut buf);
        bytes += buf.len() as u64 + 1;
        max = max.max(buf.len());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{users} users, {:.1} MB, avg {} B/user, max {max} B, {:.2} s: {:.0} MB/s, {:.0} users/s",
        bytes as f64 / 1e6,
        bytes / users.max(1),
        secs,
        bytes as f64 / 1e6 / secs,
        users as f64 / secs
    );

    // The zip writer is bound by deflate; measure it on a tenth of the users.
    let zip_users = users / 10;
    let mut zip = std::io::Cursor::new(Vec::new());
    let start = Instant::now();
    match write_zip(&gen, zip_users, DEFAULT_USERS_PER_ENTRY, &mut zip) {
        Ok(s) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "zip: {} users in {} entries, {:.1} MB NDJSON -> {:.1} MB zip, {:.2} s: {:.0} MB/s of NDJSON",
                s.users,
                s.entries,
                s.ndjson_bytes as f64 / 1e6,
                zip.get_ref().len() as f64 / 1e6,
                secs,
                s.ndjson_bytes as f64 / 1e6 / secs
            );
        }
        Err(e) => eprintln!("zip failed: {e}"),
    }
}
