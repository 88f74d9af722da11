//! How many threads a run uses when `--jobs` is not given: the CPUs this process may
//! run on, and under a cgroup CPU quota (a container's CPU limit) that quota rounded
//! up.
//!
//! Rust's `available_parallelism` rounds a quota down: a Kubernetes pod limited to
//! 1.5 CPUs got one worker, and the pipeline then kept one core busy of the 1.5 it
//! may use (pass-through of a folder of 40 zips under a 1.5-core quota: 1.07 s with
//! `--jobs 1`, 0.83 s with two; BENCHMARKS.md). The pipeline's threads do throughput work with no latency
//! to keep, so the quota's fraction is better spent on one more thread: the kernel
//! holds the process to its quota either way. Never more threads than CPUs allowed.
//!
//! Linux only (elsewhere, and when nothing here can be read, the standard library's
//! count stands). The quota is the smallest one on the way from the process's cgroup
//! to the root of the hierarchy mounted at `/sys/fs/cgroup`: cgroup v2's `cpu.max`,
//! or v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`.

use std::path::Path;

/// The default for `--jobs` (at least 1).
pub fn default_jobs() -> usize {
    let standard = std::thread::available_parallelism().map_or(2, |n| n.get());
    if !cfg!(target_os = "linux") {
        return standard;
    }
    let allowed = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| allowed_cpus(&status));
    let quota = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|cgroup| quota_cores(Path::new("/sys/fs/cgroup"), &cgroup));
    jobs_for(standard, allowed, quota)
}

/// The standard count, or the quota rounded up when the quota is what bounds it and
/// the CPUs allowed are known.
fn jobs_for(standard: usize, allowed: Option<usize>, quota: Option<f64>) -> usize {
    match (allowed, quota) {
        (Some(allowed), Some(quota)) if quota < allowed as f64 => {
            (quota.ceil() as usize).clamp(1, allowed)
        }
        _ => standard,
    }
}

/// The number of CPUs in `Cpus_allowed_list:` of `/proc/self/status` ("0-3,6,8-9").
fn allowed_cpus(status: &str) -> Option<usize> {
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?
        .trim();
    let mut count = 0;
    for range in list.split(',') {
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (first.parse::<usize>().ok()?, last.parse::<usize>().ok()?),
            None => {
                let cpu = range.parse::<usize>().ok()?;
                (cpu, cpu)
            }
        };
        count += last.checked_sub(first)? + 1;
    }
    (count > 0).then_some(count)
}

/// The smallest CPU quota, in cores, over the cgroups that `/proc/self/cgroup` puts
/// the process in, under `root` (the cgroup mount); `None` when there is none.
fn quota_cores(root: &Path, proc_cgroup: &str) -> Option<f64> {
    proc_cgroup
        .lines()
        .filter_map(|line| {
            // "ID:CONTROLLERS:PATH": v2's line is "0::PATH"; v1's has "cpu" among its
            // controllers.
            let mut fields = line.splitn(3, ':');
            let (id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            if id == "0" && controllers.is_empty() {
                lowest_on_the_way(root, path, v2_quota)
            } else if controllers.split(',').any(|c| c == "cpu") {
                // v1 mounts the controller on its own folder, or with cpuacct beside it.
                let mount = ["cpu", "cpu,cpuacct", "cpuacct,cpu"]
                    .iter()
                    .map(|folder| root.join(folder))
                    .find(|mount| mount.is_dir())?;
                lowest_on_the_way(&mount, path, v1_quota)
            } else {
                None
            }
        })
        .reduce(f64::min)
}

/// The smallest of `read`'s quotas from the cgroup at `mount` + `path` up to `mount`.
/// In a container the mount's root is often the container's own cgroup while `path`
/// still names it from the host's root: then only the mount's root is read.
fn lowest_on_the_way(mount: &Path, path: &str, read: fn(&Path) -> Option<f64>) -> Option<f64> {
    let dir = mount.join(path.trim_start_matches('/'));
    let dir = if dir.is_dir() { dir.as_path() } else { mount };
    dir.ancestors()
        .take_while(|dir| dir.starts_with(mount))
        .filter_map(read)
        .reduce(f64::min)
}

/// cgroup v2: `cpu.max` is "QUOTA PERIOD" in microseconds, or "max PERIOD".
fn v2_quota(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("cpu.max")).ok()?;
    let mut fields = text.split_whitespace();
    let quota = fields.next()?.parse::<u64>().ok()?;
    let period = fields.next()?.parse::<u64>().ok()?;
    cores(quota, period)
}

/// cgroup v1: `cpu.cfs_quota_us` (-1 for none) over `cpu.cfs_period_us`.
fn v1_quota(dir: &Path) -> Option<f64> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let quota = read("cpu.cfs_quota_us")?.trim().parse::<i64>().ok()?;
    let period = read("cpu.cfs_period_us")?.trim().parse::<u64>().ok()?;
    cores(u64::try_from(quota).ok()?, period)
}

fn cores(quota: u64, period: u64) -> Option<f64> {
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().expect("a file in a folder")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }

    #[test]
    fn a_fractional_quota_below_the_cpus_rounds_up() {
        assert_eq!(jobs_for(1, Some(2), Some(1.5)), 2);
        assert_eq!(jobs_for(2, Some(8), Some(2.5)), 3);
        assert_eq!(jobs_for(1, Some(4), Some(0.2)), 1);
        assert_eq!(jobs_for(3, Some(4), Some(3.0)), 3);
    }

    #[test]
    fn no_more_threads_than_cpus_and_the_standard_count_without_a_quota() {
        assert_eq!(jobs_for(2, Some(2), Some(2.5)), 2);
        assert_eq!(jobs_for(2, Some(2), Some(16.0)), 2);
        assert_eq!(jobs_for(4, Some(4), None), 4);
        // Without the CPUs allowed, the quota's round-up has no ceiling: keep the standard count.
        assert_eq!(jobs_for(1, None, Some(1.5)), 1);
    }

    #[test]
    fn allowed_cpus_counts_ranges_and_single_cpus() {
        let status =
            "Name:\tbrazex\nCpus_allowed:\t3\nCpus_allowed_list:\t0-3,6,8-9\nMems_allowed:\t1\n";
        assert_eq!(allowed_cpus(status), Some(7));
        assert_eq!(allowed_cpus("Cpus_allowed_list:\t0\n"), Some(1));
        assert_eq!(allowed_cpus("Cpus_allowed_list:\t3-1\n"), None);
        assert_eq!(allowed_cpus("Name:\tbrazex\n"), None);
    }

    #[test]
    fn v2_takes_the_smallest_quota_from_the_cgroup_up_to_the_root() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path();
        write(root, "kubepods/cpu.max", "250000 100000\n");
        write(root, "kubepods/pod1/cpu.max", "max 100000\n");
        write(root, "kubepods/pod1/brazex/cpu.max", "150000 100000\n");
        assert_eq!(quota_cores(root, "0::/kubepods/pod1/brazex\n"), Some(1.5));
        write(root, "kubepods/pod1/cpu.max", "50000 100000\n");
        assert_eq!(quota_cores(root, "0::/kubepods/pod1/brazex\n"), Some(0.5));
        // No limit anywhere.
        write(root, "kubepods/cpu.max", "max 100000\n");
        write(root, "kubepods/pod1/cpu.max", "max 100000\n");
        write(root, "kubepods/pod1/brazex/cpu.max", "max 100000\n");
        assert_eq!(quota_cores(root, "0::/kubepods/pod1/brazex\n"), None);
    }

    #[test]
    fn v2_in_a_container_reads_the_mount_root_when_the_path_is_the_hosts() {
        let root = tempfile::tempdir().expect("tempdir");
        write(root.path(), "cpu.max", "150000 100000\n");
        assert_eq!(
            quota_cores(root.path(), "0::/system.slice/docker-1.scope\n"),
            Some(1.5)
        );
        assert_eq!(quota_cores(root.path(), "0::/\n"), Some(1.5));
    }

    #[test]
    fn v1_reads_the_cpu_controller_with_or_without_cpuacct_beside_it() {
        for folder in ["cpu", "cpu,cpuacct"] {
            let root = tempfile::tempdir().expect("tempdir");
            let root = root.path();
            write(root, &format!("{folder}/cpu.cfs_quota_us"), "-1\n");
            write(root, &format!("{folder}/cpu.cfs_period_us"), "100000\n");
            write(root, &format!("{folder}/job/cpu.cfs_quota_us"), "150000\n");
            write(root, &format!("{folder}/job/cpu.cfs_period_us"), "100000\n");
            let cgroup = "12:pids:/job\n4:cpu,cpuacct:/job\n3:memory:/job\n";
            assert_eq!(quota_cores(root, cgroup), Some(1.5), "{folder}");
            write(root, &format!("{folder}/job/cpu.cfs_quota_us"), "-1\n");
            assert_eq!(quota_cores(root, cgroup), None, "{folder}");
        }
    }

    #[test]
    fn lines_of_other_controllers_and_garbage_give_no_quota() {
        let root = tempfile::tempdir().expect("tempdir");
        write(root.path(), "cpu.max", "150000 100000\n");
        assert_eq!(quota_cores(root.path(), "3:memory:/job\nnonsense\n"), None);
        write(root.path(), "cpu.max", "fast 100000\n");
        assert_eq!(quota_cores(root.path(), "0::/\n"), None);
    }
}
