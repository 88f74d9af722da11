//! What a simulator serves: its key, its segments, its timings and the faults
//! it injects ([`SimConfig`], [`SegmentConfig`], [`Faults`]).
//!
//! Everything is plain data with public fields, so a test states exactly the
//! Braze it wants (`SimConfig { ready_after: ..., ..SimConfig::new(dir) }`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::archive::DEFAULT_USERS_PER_ENTRY;

/// The API key of [`SimConfig::new`]. Fixed, so a demo or a test can be
/// repeated; a test that wants to prove a key never leaks can set its own.
pub const DEFAULT_API_KEY: &str = "sim-api-key-5b2f0c1e-7d44-4c1a-9a39-3e8f1d6b2a90";

/// The seed of the default segments: `all` and `us-only` share it, so
/// `us-only` is exactly the US users of `all`.
pub const DEFAULT_SEED: u64 = 42;

/// Braze's default limit for the export endpoints, requests per hour.
pub const DEFAULT_RATE_LIMIT_PER_HOUR: u64 = 250_000;

/// How long Braze keeps an export downloadable ("about four hours").
pub const DEFAULT_TTL: Duration = Duration::from_secs(4 * 3600);

/// A segment the simulator knows, by `segment_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentConfig {
    /// The `segment_id` a trigger names.
    pub id: String,
    /// Users `0..users` of the generator with `seed` (with `us_only`, the
    /// population that is filtered, so the segment holds fewer).
    pub users: u64,
    /// The generator's seed: the same seed gives the same users.
    pub seed: u64,
    /// Keep only the users whose `country` is `"US"` (users without a
    /// country are not in the segment, as with a real segment filter).
    pub us_only: bool,
}

impl SegmentConfig {
    /// A segment of `users` users of generator seed `seed`.
    pub fn new(id: impl Into<String>, users: u64, seed: u64) -> Self {
        SegmentConfig {
            id: id.into(),
            users,
            seed,
            us_only: false,
        }
    }

    /// The same segment restricted to users whose country is `"US"`.
    pub fn us_only(mut self) -> Self {
        self.us_only = true;
        self
    }
}

/// Faults injected for client tests. Counts are global across requests: the
/// first K requests that qualify get the fault, later ones are served
/// normally. The default injects nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Download: close the connection after this many bytes of a response
    /// body (counted from the start of that response, so a resumed
    /// `Range: bytes=N-` request drops again N bytes later) ...
    pub drop_after_bytes: Option<u64>,
    /// ... on the first `drop_times` download GETs whose body is longer than
    /// `drop_after_bytes` (a one-byte readiness probe does not count).
    pub drop_times: u32,
    /// Download: stop sending after this many bytes of a response body and
    /// keep the socket open for `stall_for`, then go on ...
    pub stall_after_bytes: Option<u64>,
    /// ... on the first `stall_times` download GETs whose body is longer
    /// than `stall_after_bytes`.
    pub stall_times: u32,
    /// How long a stall lasts.
    pub stall_for: Duration,
    /// The first K trigger requests answer `503` with a Braze error body.
    pub trigger_5xx_first: u32,
    /// The first K trigger requests (after the 503s) answer `429` with
    /// `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` =
    /// now + `rate_limit_reset_secs`.
    pub trigger_429_first: u32,
    /// See `trigger_429_first`.
    pub rate_limit_reset_secs: u64,
    /// Downloads ignore `Range` and answer `200` with the whole archive, as
    /// some proxies and servers do.
    pub ignore_range: bool,
    /// Downloads honour `Range` on the first N requests that carry one (a
    /// one-byte readiness probe does not count), then ignore it as
    /// `ignore_range` does: a server (or a proxy that joins the path) that
    /// stops answering ranges after a client found them working.
    pub ignore_range_after: Option<u32>,
    /// Exports never become ready: the URL answers `403 AccessDenied`
    /// forever ("a failed export is reported by email only").
    pub fail_exports: bool,
    /// Download faults at random places, for soaks (on top of the fixed ones).
    pub random: Option<RandomFaults>,
}

/// Faults drawn at random for download GETs (a readiness probe of one byte does
/// not count): a dropped connection or a stall at a random byte of the body, a
/// `500`/`503` answer, a `429` with `Retry-After`, or (for a ranged request) the
/// whole archive with `200`, as a server that stopped honouring `Range` sends. The
/// same seed gives the same sequence of draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomFaults {
    /// Seed of the draws.
    pub seed: u64,
    /// Faults to inject in all; afterwards downloads are served normally.
    pub count: u32,
    /// Chance, in percent, that a download GET gets a fault while some are left.
    pub percent: u8,
    /// `Retry-After` of a `429`, in seconds.
    pub retry_after_secs: u64,
}

/// The simulator's configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The key accepted in `Authorization: Bearer KEY`.
    pub api_key: String,
    /// The segments `POST /users/export/segment` can export.
    pub segments: Vec<SegmentConfig>,
    /// What `POST /users/export/global_control_group` exports (its `id` is
    /// only used in logs and for the one-export-at-a-time rule).
    pub control_group: SegmentConfig,
    /// Users per `.txt` entry of the archive (Braze: roughly 5,000).
    pub users_per_entry: u64,
    /// Time from the trigger until the URL serves the archive (at the
    /// earliest: a large archive also has to be written first).
    pub ready_after: Duration,
    /// How long the URL serves the archive once ready; afterwards it answers
    /// `403 ExpiredToken` and the spool file is deleted.
    pub ttl: Duration,
    /// Where export archives are written (one `<object_prefix>.zip` each).
    /// Created when missing.
    pub spool_dir: PathBuf,
    /// Faults to inject.
    pub faults: Faults,
    /// `X-RateLimit-Limit`: trigger requests allowed per clock hour.
    pub rate_limit_per_hour: u64,
    /// Bucket mode: exports go into this S3-compatible bucket (the company's own
    /// bucket) instead of a download URL; `None` for the usual URL.
    pub bucket: Option<SimBucket>,
}

/// The company's own bucket, for bucket mode: Braze answers without `url` and writes
/// one archive per `users_per_entry` users under
/// `ROOT/segment-export/SEGMENT_ID/YYYY-MM-dd/OBJECT_PREFIX/<random>.zip` (`.gz`
/// with `output_format: gzip`), one after the other, `object_interval` apart; the
/// callback then says `{"success": true}` without `url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SimBucket {
    /// The S3 endpoint, e.g. `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub bucket: String,
    /// A key prefix before `segment-export/` (empty for none).
    pub root: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Pause between two objects, so they appear over time as Braze's do.
    pub object_interval: Duration,
}

impl SimBucket {
    /// A bucket at `endpoint` with the given credentials, region `us-east-1`, no
    /// root, objects 100 ms apart.
    pub fn new(
        endpoint: impl Into<String>,
        bucket: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> SimBucket {
        SimBucket {
            endpoint: endpoint.into(),
            bucket: bucket.into(),
            root: String::new(),
            region: "us-east-1".into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            object_interval: Duration::from_millis(100),
        }
    }
}

/// The secret is redacted.
impl fmt::Debug for SimBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBucket")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("root", &self.root)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("object_interval", &self.object_interval)
            .finish_non_exhaustive()
    }
}

impl SimConfig {
    /// A simulator with Braze's defaults (4 h TTL, 5,000 users per entry,
    /// 250,000 requests per hour), ready 1 s after a trigger, no faults, and
    /// the segments `all` (20,000 users), `us-only` (the US users of `all`),
    /// `small` (10 users) and `empty` (no users); the global control group
    /// has 1,000 users.
    pub fn new(spool_dir: impl Into<PathBuf>) -> Self {
        SimConfig {
            api_key: DEFAULT_API_KEY.to_owned(),
            segments: vec![
                SegmentConfig::new("all", 20_000, DEFAULT_SEED),
                SegmentConfig::new("us-only", 20_000, DEFAULT_SEED).us_only(),
                SegmentConfig::new("small", 10, DEFAULT_SEED),
                SegmentConfig::new("empty", 0, DEFAULT_SEED),
            ],
            control_group: SegmentConfig::new("global_control_group", 1_000, DEFAULT_SEED + 1),
            users_per_entry: DEFAULT_USERS_PER_ENTRY,
            ready_after: Duration::from_secs(1),
            ttl: DEFAULT_TTL,
            spool_dir: spool_dir.into(),
            faults: Faults::default(),
            rate_limit_per_hour: DEFAULT_RATE_LIMIT_PER_HOUR,
            bucket: None,
        }
    }

    /// The segment with this `segment_id`.
    pub fn segment(&self, id: &str) -> Option<&SegmentConfig> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Checks what the server relies on: a non-empty key of visible ASCII
    /// (it travels in a header) and unique segment ids.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.api_key.is_empty() || !self.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("api_key must be non-empty visible ASCII".to_owned());
        }
        for (i, s) in self.segments.iter().enumerate() {
            if self.segments[..i].iter().any(|t| t.id == s.id) {
                return Err(format!("segment id {:?} is defined twice", s.id));
            }
        }
        Ok(())
    }
}

/// The key is redacted: brazex promises that keys never show in `Debug`
/// output, and a test printing its configuration should not break that.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("api_key", &"<redacted>")
            .field("segments", &self.segments)
            .field("control_group", &self.control_group)
            .field("users_per_entry", &self.users_per_entry)
            .field("ready_after", &self.ready_after)
            .field("ttl", &self.ttl)
            .field("spool_dir", &self.spool_dir)
            .field("faults", &self.faults)
            .field("rate_limit_per_hour", &self.rate_limit_per_hour)
            .field("bucket", &self.bucket)
            .finish()
    }
}
