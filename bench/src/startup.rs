//! Start-up time and memory of a server process: spawn the command, send a signed ListKeys every
//! millisecond until one is answered with 200, and report the time from spawn to that answer and
//! the process's resident memory (VmRSS from /proc/PID/status) at that moment.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::json;

use crate::client::Client;

#[derive(Debug, Serialize)]
pub struct Startup {
    /// From spawning the process to the first 200 answer to a signed request.
    pub first_answer_ms: f64,
    /// Resident memory right after that answer, in KiB.
    pub vm_rss_kib: Option<u64>,
}

/// VmRSS of process `pid` in KiB, from /proc.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Spawns `command` (program and arguments) and waits up to `timeout` for its first answer.
pub async fn measure(
    client: &Client,
    command: &[String],
    timeout: Duration,
) -> anyhow::Result<Startup> {
    let (program, args) = command.split_first().context("no command to start")?;
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let result = loop {
        if let Ok(answer) = client.call("ListKeys", &json!({"MaxResults": 1})).await
            && answer.ok()
        {
            break Ok(Startup {
                first_answer_ms: spawned.elapsed().as_secs_f64() * 1000.0,
                vm_rss_kib: vm_rss_kib(child.id()),
            });
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!(
                "{program} exited with {status} before answering"
            ));
        }
        if spawned.elapsed() > timeout {
            break Err(anyhow::anyhow!("no answer within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    // SIGKILL is fine here: every acknowledged write is already durable.
    child.kill()?;
    child.wait()?;
    match result {
        Ok(s) => Ok(s),
        Err(e) => bail!(e),
    }
}
