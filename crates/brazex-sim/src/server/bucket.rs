//! Bucket mode: an export written into the company's own (S3-compatible) bucket.
//!
//! Like Braze with customer storage credentials: the trigger's answer has no `url`;
//! the users are written as one archive per `users_per_entry` users (a `.zip` holding
//! one `.txt`, or a `.gz` with `output_format: gzip`) under
//! `ROOT/segment-export/SEGMENT_ID/YYYY-MM-dd/OBJECT_PREFIX/<random>.zip`, one object
//! after the other (`object_interval` apart, so a client sees them appear over time),
//! and the callback, if any, then says `{"success": true}` without `url`. Objects are
//! built in memory one at a time (a few MB for 5,000 users) and never deleted: the
//! bucket is the customer's.

use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{info, warn};

use super::callback;
use super::config::SimBucket;
use super::export::{us_users, Export, Job, Written};
use super::Shared;
use crate::archive::{entry_ranges, write_gzip_users, write_zip_users};
use crate::generate::{GeneratorConfig, UserGenerator};

/// Writes the export's objects, marks it done and calls back.
pub(crate) async fn lifecycle(
    shared: &Arc<Shared>,
    export: &Arc<Export>,
    job: Job,
    bucket: SimBucket,
) {
    let prefix = export.object_prefix.clone();
    match write_objects(shared, &prefix, &job, &bucket).await {
        Ok((objects, bytes)) => {
            info!(object_prefix = %prefix, objects, bytes, "brazex-sim: export written to the bucket");
            *export.written() = Written::Done {
                len: bytes,
                at: Instant::now(),
            };
        }
        Err(e) => {
            warn!(object_prefix = %prefix, error = %e, "brazex-sim: writing the export to the bucket failed");
            *export.written() = Written::Failed;
            return;
        }
    }
    if let Some(url) = &job.callback {
        let body = serde_json::json!({"success": true}).to_string();
        callback::deliver(&shared.log, url, &body).await;
    }
}

async fn write_objects(
    shared: &Arc<Shared>,
    object_prefix: &str,
    job: &Job,
    bucket: &SimBucket,
) -> Result<(u64, u64), String> {
    let store = AmazonS3Builder::new()
        .with_endpoint(&bucket.endpoint)
        .with_allow_http(bucket.endpoint.starts_with("http://"))
        .with_bucket_name(&bucket.bucket)
        .with_region(&bucket.region)
        .with_access_key_id(&bucket.access_key_id)
        .with_secret_access_key(&bucket.secret_access_key)
        .build()
        .map_err(|e| e.to_string())?;
    let segment = job.segment.clone();
    let cancel = shared.cancel.clone();
    // The segment's users, as lists of indices, one per object.
    let groups: Vec<Vec<u64>> = {
        let per = shared.config.users_per_entry.max(1);
        if segment.us_only {
            let segment = segment.clone();
            let users = tokio::task::spawn_blocking(move || us_users(&segment, &cancel))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            users.chunks(per as usize).map(<[u64]>::to_vec).collect()
        } else {
            entry_ranges(segment.users, per)
                .map(|r| r.collect())
                .collect()
        }
    };
    let gen = Arc::new(UserGenerator::new(GeneratorConfig {
        seed: segment.seed,
        fields: job.fields.clone(),
    }));
    let (mut objects, mut bytes) = (0u64, 0u64);
    for (i, users) in groups.into_iter().enumerate() {
        if shared.cancel.load(Ordering::Relaxed) {
            return Err("the simulator shut down".into());
        }
        if i > 0 {
            tokio::time::sleep(bucket.object_interval).await;
        }
        let gzip = job.gzip;
        let gen = gen.clone();
        // Generating and deflating is CPU work: keep it off the async workers.
        let body = tokio::task::spawn_blocking(move || -> crate::Result<Vec<u8>> {
            let mut out = Cursor::new(Vec::new());
            if gzip {
                write_gzip_users(&gen, users, &mut out)?;
            } else {
                write_zip_users(&gen, [users], &mut out)?;
            }
            Ok(out.into_inner())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let key = object_key(bucket, &job.segment.id, object_prefix, i as u64, gzip);
        bytes += body.len() as u64;
        store
            .put(&StorePath::from(key.as_str()), PutPayload::from(body))
            .await
            .map_err(|e| format!("PUT {key}: {e}"))?;
        objects += 1;
    }
    Ok((objects, bytes))
}

/// `ROOT/segment-export/SEGMENT/DAY/PREFIX/<random>.zip`: the name is random-looking
/// (derived from the prefix and the index, so runs repeat) as Braze's are, so key
/// order is not user order.
fn object_key(bucket: &SimBucket, segment: &str, prefix: &str, index: u64, gzip: bool) -> String {
    let day = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in prefix.bytes().chain(index.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let root = bucket.root.trim_matches('/');
    let root = if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    };
    format!(
        "{root}segment-export/{segment}/{}/{prefix}/{h:016x}.{}",
        civil_date(day),
        if gzip { "gz" } else { "zip" }
    )
}

/// `YYYY-MM-dd` of a day number since 1970-01-01 (Braze's date folder).
fn civil_date(days: u64) -> String {
    brazex_core::civil::format_date(days as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_braze_layout() {
        let bucket = SimBucket::new("http://127.0.0.1:1", "b", "k", "s");
        let key = object_key(&bucket, "seg", "pfx", 3, true);
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts[..2], ["segment-export", "seg"]);
        assert_eq!(parts[2].len(), 10);
        assert_eq!(parts[3], "pfx");
        assert!(parts[4].ends_with(".gz"));
        assert_eq!(civil_date(20_819), "2027-01-01");
    }
}
