//! The request log: each request's start and end on one monotonic clock, its method,
//! path and status, so that a benchmark or a test can count how many requests a run
//! made and how many of them overlapped (its sequential round trips, or *waves*).
//!
//! `RUNNER_SIM_ACCESS_LOG=FILE` writes one line per request to FILE, appended:
//! `START_US END_US METHOD PATH STATUS`, times in microseconds since the process's
//! first request, `STATUS` `-` for a dropped connection. The line is written (one
//! `write` of a whole line, under a lock, no buffering) before the answer leaves, so a
//! client that has its answer finds its line in the file. Tests keep the log in memory
//! instead ([`RequestLog::memory`]).
//!
//! The path is logged without its query: a SOQL text could name a user, and the log
//! has no need of it. No header, and so no token, is ever logged.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// One request as the log saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Microseconds since the process's clock started.
    pub start_us: u64,
    pub end_us: u64,
    pub method: String,
    pub path: String,
    /// `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
}

enum Sink {
    File(Mutex<File>),
    Memory(Mutex<Vec<LoggedRequest>>),
}

/// Where requests are logged. Cheap to clone: clones share the sink.
#[derive(Clone)]
pub struct RequestLog {
    sink: Arc<Sink>,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match *self.sink {
            Sink::File(_) => "file",
            Sink::Memory(_) => "memory",
        };
        f.debug_struct("RequestLog").field("sink", &kind).finish()
    }
}

/// The one clock every log of the process uses, so that the lines of a fleet's orgs
/// (which share the file) compare.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds on the log's clock.
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

impl RequestLog {
    /// Appends to `path`, creating it.
    pub fn file(path: &Path) -> std::io::Result<RequestLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        epoch();
        Ok(RequestLog { sink: Arc::new(Sink::File(Mutex::new(file))) })
    }

    /// Keeps the requests for [`RequestLog::entries`].
    pub fn memory() -> RequestLog {
        epoch();
        RequestLog { sink: Arc::new(Sink::Memory(Mutex::new(Vec::new()))) }
    }

    /// The log `RUNNER_SIM_ACCESS_LOG` names, one per process: every org of a fleet
    /// writes to the same file, so their lines compare on one clock.
    pub fn from_env() -> Option<RequestLog> {
        static FROM_ENV: OnceLock<Option<RequestLog>> = OnceLock::new();
        FROM_ENV
            .get_or_init(|| {
                let path = std::env::var_os("RUNNER_SIM_ACCESS_LOG")?;
                match RequestLog::file(Path::new(&path)) {
                    Ok(log) => Some(log),
                    Err(err) => {
                        eprintln!("sim: RUNNER_SIM_ACCESS_LOG {}: {err}; not logging", Path::new(&path).display());
                        None
                    }
                }
            })
            .clone()
    }

    pub fn record(&self, entry: LoggedRequest) {
        match &*self.sink {
            Sink::File(file) => {
                let status = entry.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
                let line = format!("{} {} {} {} {status}\n", entry.start_us, entry.end_us, entry.method, entry.path);
                let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                let _ = file.write_all(line.as_bytes());
            }
            Sink::Memory(entries) => entries.lock().unwrap_or_else(|e| e.into_inner()).push(entry),
        }
    }

    /// What a memory log holds so far, in the order the requests ended (empty for a file).
    pub fn entries(&self) -> Vec<LoggedRequest> {
        match &*self.sink {
            Sink::File(_) => Vec::new(),
            Sink::Memory(entries) => entries.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    /// Forgets what a memory log holds, so that the next run is counted alone.
    pub fn clear(&self) {
        if let Sink::Memory(entries) = &*self.sink {
            entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// How many waves the requests came in: a wave is a maximal run of requests each of
/// which starts before every earlier one of the wave has ended, so requests sent
/// together are one wave and a request sent after an answer starts the next. With a
/// latency per request, a run's wall time is at least its waves × the latency.
pub fn waves(requests: &[LoggedRequest]) -> usize {
    let mut spans: Vec<(u64, u64)> = requests.iter().map(|r| (r.start_us, r.end_us)).collect();
    spans.sort_unstable();
    let mut count = 0;
    let mut end = None;
    for (start, stop) in spans {
        match end {
            Some(e) if start < e => end = Some(e.max(stop)),
            _ => {
                count += 1;
                end = Some(stop);
            }
        }
    }
    count
}

/// Logs a request when dropped: at its answer, or when the connection is dropped and
/// the handler's future with it.
pub struct InFlight {
    pub log: RequestLog,
    pub start_us: u64,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.log.record(LoggedRequest {
            start_us: self.start_us,
            end_us: now_us(),
            method: std::mem::take(&mut self.method),
            path: std::mem::take(&mut self.path),
            status: self.status,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start_us: u64, end_us: u64) -> LoggedRequest {
        LoggedRequest { start_us, end_us, method: "GET".into(), path: "/".into(), status: Some(200) }
    }

    #[test]
    fn overlapping_requests_are_one_wave() {
        assert_eq!(waves(&[]), 0);
        assert_eq!(waves(&[at(0, 10)]), 1);
        // Sent together, answered at different times: one wave.
        assert_eq!(waves(&[at(0, 10), at(1, 15), at(2, 12)]), 1);
        // Sent on an answer: the next wave, even when it starts the same microsecond.
        assert_eq!(waves(&[at(0, 10), at(10, 20), at(21, 30)]), 3);
        // A chain through an overlap stays one wave.
        assert_eq!(waves(&[at(20, 30), at(0, 10), at(5, 25)]), 1);
    }
}
