//! `run --bucket`: finding an export that Braze writes into the company's own bucket,
//! and waiting until it is complete.
//!
//! Braze writes `segment-export/SEGMENT_ID/YYYY-MM-dd/OBJECT_PREFIX/<random>.zip` (or
//! `.gz`), one archive per ~5,000 users, over time; the date is the UTC day the export
//! completes, so both the trigger's day and the next are looked at. It is complete
//! when Braze's callback says so, or (without a callback) when the listing has not
//! changed for `settle` after the first object appeared: Braze publishes no manifest,
//! so a quiet listing is the only sign a poller has.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{debug, info};

use crate::bucket::{Bucket, BucketError, BucketUrl, ObjectInfo};
use crate::callback::{sleep_or_callback, CallbackEvent, CallbackReceiver};
use crate::error::BrazeError;

/// How to wait for an export in a bucket.
#[derive(Debug, Clone)]
pub struct BucketWait {
    /// Time between listings (it doubles up to `max_poll_interval`).
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    /// A listing unchanged this long (after the first object) means complete.
    pub settle: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

/// What waiting for a bucket export reports, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketWaitEvent {
    /// A listing found `objects` objects of `bytes` bytes so far.
    Listed {
        elapsed: Duration,
        objects: usize,
        bytes: u64,
    },
    Complete {
        objects: usize,
    },
}

/// Errors of waiting for a bucket export.
#[derive(Debug, thiserror::Error)]
pub enum BucketWaitError {
    #[error(transparent)]
    Bucket(#[from] BucketError),
    #[error(transparent)]
    Braze(#[from] BrazeError),
    #[error("Braze's callback said the export succeeded, but nothing is under {0} (nor the next day's folder): check that the workspace's bucket is the one given to --bucket")]
    CallbackButEmpty(String),
}

/// The folders of an export: `ROOT/segment-export/SEGMENT/DAY/OBJECT_PREFIX/` for the
/// UTC day of `triggered` and the next one.
pub fn export_folders(
    root: &BucketUrl,
    segment_id: &str,
    object_prefix: &str,
    triggered: SystemTime,
) -> Vec<BucketUrl> {
    let days = triggered
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    [days, days + 1]
        .iter()
        .map(|&day| {
            root.join(&format!(
                "segment-export/{segment_id}/{}/{object_prefix}",
                civil_date(day)
            ))
        })
        .collect()
}

/// `YYYY-MM-dd` of a day number since 1970-01-01 (Braze's date folder).
pub fn civil_date(days: u64) -> String {
    brazex_core::civil::format_date(days as i64)
}

impl Bucket {
    /// Lists `folders` and returns all their objects (key order).
    async fn list_all(&self, folders: &[BucketUrl]) -> Result<Vec<ObjectInfo>, BucketError> {
        let mut all = Vec::new();
        for folder in folders {
            all.extend(self.list(folder).await?);
        }
        all.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        Ok(all)
    }

    /// Waits until the export in `folders` is complete (see the module docs) and
    /// returns its objects in key order.
    pub async fn wait_for_export(
        &self,
        folders: &[BucketUrl],
        wait: &BucketWait,
        mut callback: Option<&mut CallbackReceiver>,
        on_event: &(dyn Fn(BucketWaitEvent) + Sync),
    ) -> Result<Vec<ObjectInfo>, BucketWaitError> {
        let started = Instant::now();
        let mut interval = wait.poll_interval.max(Duration::from_millis(10));
        let mut last: Option<(Vec<ObjectInfo>, Instant)> = None;
        let mut called_back = false;
        loop {
            let objects = self.list_all(folders).await?;
            let bytes = objects.iter().map(|o| o.size).sum();
            on_event(BucketWaitEvent::Listed {
                elapsed: started.elapsed(),
                objects: objects.len(),
                bytes,
            });
            if called_back {
                if objects.is_empty() {
                    return Err(BucketWaitError::CallbackButEmpty(folders[0].to_string()));
                }
                info!(
                    objects = objects.len(),
                    "the callback says the export is complete"
                );
                on_event(BucketWaitEvent::Complete {
                    objects: objects.len(),
                });
                return Ok(objects);
            }
            let now = Instant::now();
            let since = match &last {
                Some((previous, since)) if *previous == objects => *since,
                _ => now,
            };
            if !objects.is_empty() && now.duration_since(since) >= wait.settle {
                info!(
                    objects = objects.len(),
                    "the listing has not changed for {:?} (--settle): complete", wait.settle
                );
                on_event(BucketWaitEvent::Complete {
                    objects: objects.len(),
                });
                return Ok(objects);
            }
            if objects.is_empty() {
                last = None;
            } else {
                last = Some((objects, since));
            }
            let elapsed = started.elapsed();
            if elapsed >= wait.timeout {
                return Err(BrazeError::WaitTimeout(wait.timeout).into());
            }
            // Never sleep past the moment the listing would have settled.
            let mut next = interval.min(wait.timeout - elapsed);
            if let Some((_, since)) = &last {
                let settles_in = wait.settle.saturating_sub(since.elapsed());
                next = next.min(settles_in.max(Duration::from_millis(10)));
            }
            debug!("next listing in {next:?}");
            let event = sleep_or_callback(callback.as_deref_mut(), next).await;
            match event {
                Some(CallbackEvent { success: true, .. }) => called_back = true,
                Some(CallbackEvent {
                    success: false,
                    body,
                    ..
                }) => return Err(BrazeError::ExportFailed(body).into()),
                None => {}
            }
            interval = (interval * 2).min(wait.max_poll_interval.max(wait.poll_interval));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_818), "2026-12-31");
        assert_eq!(civil_date(20_819), "2027-01-01");
        let root = BucketUrl::parse("s3://b/root").expect("url");
        let t = UNIX_EPOCH + Duration::from_secs(20_818 * 86_400 + 3_600);
        let folders = export_folders(&root, "seg", "pfx", t);
        assert_eq!(folders[0].prefix, "root/segment-export/seg/2026-12-31/pfx");
        assert_eq!(folders[1].prefix, "root/segment-export/seg/2027-01-01/pfx");
    }
}
