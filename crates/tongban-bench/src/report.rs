//! What a run measured: the [`Report`], as a text table (中文 or English) or as JSON.

use std::fmt::Write as _;

use serde::Serialize;
use tongban_domain::i18n::Lang;

use crate::floor::Floor;
use crate::stats::Percentiles;

/// The result of one lifecycle benchmark run.
///
/// Counts without `_total` and every rate cover the load window only (from the first submission
/// to `--duration` later): a case counts as submitted, decided or completed when its SubmitCase
/// answer, its DecideCase answer or its completion was seen inside the window. `_total` counts
/// include the drain after it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `mixed` or `single-window`.
    pub mode: String,
    /// Concurrent window clerks.
    pub clerks: usize,
    /// Reviewers per office.
    pub reviewers: usize,
    /// Responsible offices whose reviewers took part.
    pub offices: Vec<String>,
    /// 12345 look-ups per second asked for.
    pub hotline_rate: f64,
    /// Length of the load window, seconds.
    pub window_secs: f64,
    /// Time spent draining after the window, seconds.
    pub drain_secs: f64,
    /// Cases accepted in the window.
    pub submitted: u64,
    /// Cases decided in the window.
    pub decided: u64,
    /// Lifecycles completed (办结) in the window.
    pub completed: u64,
    /// Cases accepted in all.
    pub submitted_total: u64,
    /// Cases decided in all.
    pub decided_total: u64,
    /// Lifecycles completed in all.
    pub completed_total: u64,
    /// Accepted cases not completed when the drain ended.
    pub unfinished: u64,
    /// `submitted / window_secs`.
    pub submitted_per_sec: f64,
    /// `decided / window_secs`.
    pub decided_per_sec: f64,
    /// `completed / window_secs`: completed lifecycles per second.
    pub lifecycles_per_sec: f64,
    /// Latencies.
    pub latency: Latencies,
    /// Claims refused because another reviewer had the case (normal, not errors).
    pub claim_races: u64,
    /// Routed cases found by the inbox sweep (ListAssignments) because the watch stream had not
    /// announced them; not in the routing latency.
    pub routed_by_sweep: u64,
    /// Completions found by polling GetCase because the watch stream had not shown them; their
    /// completion lag is the poll's (an upper bound).
    pub completed_by_poll: u64,
    /// Cases the watch stream never showed in any state (it drops changes when a watcher lags
    /// behind its broadcast channel); they were found by the sweep and the poll.
    pub never_on_watch: u64,
    /// Hotline ticks skipped (no completed case yet to look up, or too many look-ups in flight).
    pub hotline_skipped: u64,
    /// Calls that failed, by RPC and gRPC code (claim races excluded).
    pub errors: Vec<ErrorCount>,
    /// The same-run floor, unless skipped.
    pub floor: Option<Floor>,
    /// The lifecycle rate against the floor, when the floor was measured.
    pub floor_ratio: Option<FloorRatio>,
}

/// The latencies of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    /// SubmitCase, call to answer.
    pub submit_case: Percentiles,
    /// SubmitCase answer → the case announced ROUTED on its office's watch stream (0 when the
    /// announcement came first).
    pub routing: Percentiles,
    /// ClaimCase, call to answer (successful claims).
    pub claim_case: Percentiles,
    /// DecideCase, call to answer.
    pub decide_case: Percentiles,
    /// QueryCaseStatus, call to answer.
    pub hotline: Percentiles,
    /// DecideCase answer → the case seen COMPLETED.
    pub completion_lag: Percentiles,
}

/// Failed calls of one RPC with one code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorCount {
    /// RPC name, e.g. `SubmitCase`.
    pub rpc: String,
    /// gRPC code, e.g. `Unavailable`.
    pub code: String,
    /// How many.
    pub count: u64,
}

/// The lifecycle rate against the floor.
#[derive(Debug, Clone, Serialize)]
pub struct FloorRatio {
    /// Commit-then-acked-publish pairs one lifecycle needs.
    pub pairs_per_lifecycle: f64,
    /// `floor.pairs_per_sec / pairs_per_lifecycle`: lifecycles/s if the pairs were all it took.
    pub lifecycle_ceiling_per_sec: f64,
    /// `lifecycles_per_sec / lifecycle_ceiling_per_sec`.
    pub ratio: f64,
    /// How the ratio is computed, with the numbers.
    pub formula: String,
}

impl FloorRatio {
    /// The ratio of `lifecycles_per_sec` to `floor` with `pairs_per_lifecycle` pairs each.
    pub fn new(lifecycles_per_sec: f64, floor: &Floor, pairs_per_lifecycle: f64) -> Self {
        let ceiling = floor.pairs_per_sec / pairs_per_lifecycle;
        let ratio = if ceiling > 0.0 {
            lifecycles_per_sec / ceiling
        } else {
            0.0
        };
        let formula = format!(
            "{lifecycles_per_sec:.2} / ({:.1} / {pairs_per_lifecycle}) = {lifecycles_per_sec:.2} / {ceiling:.2} = {ratio:.3}",
            floor.pairs_per_sec
        );
        Self {
            pairs_per_lifecycle,
            lifecycle_ceiling_per_sec: ceiling,
            ratio,
            formula,
        }
    }
}

impl Report {
    /// Whether the numbers agree with each other: completed ≤ decided ≤ submitted (in the window
    /// and in all), every percentile set ordered.
    pub fn is_consistent(&self) -> bool {
        let l = &self.latency;
        self.completed <= self.decided
            && self.decided <= self.submitted
            && self.completed_total <= self.decided_total
            && self.decided_total <= self.submitted_total
            && [
                l.submit_case,
                l.routing,
                l.claim_case,
                l.decide_case,
                l.hotline,
                l.completion_lag,
            ]
            .iter()
            .all(Percentiles::is_ordered)
    }

    /// The report as a text table for people.
    pub fn render(&self, lang: Lang) -> String {
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {} | {} {} | {} {} | {} {} | {} {:.1}s (+{} {:.1}s)",
            t("通办全流程压测", "tongban lifecycle benchmark"),
            self.mode,
            t("窗口人员", "clerks"),
            self.clerks,
            t("每部门审批人员", "reviewers/office"),
            self.reviewers,
            t("12345 查询/秒", "hotline/s"),
            self.hotline_rate,
            t("时长", "window"),
            self.window_secs,
            t("收尾", "drain"),
            self.drain_secs,
        );
        let _ = writeln!(
            out,
            "{}: {}",
            t("属地部门", "offices"),
            self.offices.join(", ")
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<28} {:>10} {:>10} {:>10}",
            t("吞吐", "throughput"),
            t("窗口内", "window"),
            t("每秒", "per s"),
            t("合计", "total")
        );
        let rows = [
            (
                t("受理 SubmitCase", "submitted"),
                self.submitted,
                self.submitted_per_sec,
                self.submitted_total,
            ),
            (
                t("决定 DecideCase", "decided"),
                self.decided,
                self.decided_per_sec,
                self.decided_total,
            ),
            (
                t("办结（完整流程）", "completed lifecycles"),
                self.completed,
                self.lifecycles_per_sec,
                self.completed_total,
            ),
        ];
        for (name, count, rate, total) in rows {
            let _ = writeln!(out, "{name:<28} {count:>10} {rate:>10.2} {total:>10}");
        }
        let _ = writeln!(
            out,
            "{:<28} {:>10}",
            t("未办结（收尾结束时）", "unfinished after drain"),
            self.unfinished
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<28} {:>8} {:>10} {:>10} {:>10}",
            t("时延（毫秒）", "latency (ms)"),
            t("样本", "n"),
            "p50",
            "p99",
            "max"
        );
        let l = &self.latency;
        let rows = [
            (t("SubmitCase 受理", "SubmitCase"), l.submit_case),
            (t("分派（受理→审批收件箱）", "routing (→ watch)"), l.routing),
            (t("ClaimCase 认领", "ClaimCase"), l.claim_case),
            (t("DecideCase 决定", "DecideCase"), l.decide_case),
            (
                t("12345 QueryCaseStatus", "hotline QueryCaseStatus"),
                l.hotline,
            ),
            (t("决定→办结", "decision → completed"), l.completion_lag),
        ];
        for (name, p) in rows {
            let _ = writeln!(
                out,
                "{name:<28} {:>8} {:>10.1} {:>10.1} {:>10.1}",
                p.count, p.p50_ms, p.p99_ms, p.max_ms
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}: {} | {}: {} | {}: {} | {}: {} | {}: {}",
            t("认领竞争（正常）", "claim races (normal)"),
            self.claim_races,
            t("监听流未出现的办件", "never on the watch"),
            self.never_on_watch,
            t("收件箱补扫到的分派", "routed found by sweep"),
            self.routed_by_sweep,
            t("轮询发现的办结", "completions found by poll"),
            self.completed_by_poll,
            t("跳过的热线查询", "hotline ticks skipped"),
            self.hotline_skipped,
        );
        if self.errors.is_empty() {
            let _ = writeln!(out, "{}: 0", t("错误", "errors"));
        } else {
            let _ = writeln!(
                out,
                "{}:",
                t("错误（按 gRPC 状态码）", "errors by gRPC code")
            );
            for e in &self.errors {
                let _ = writeln!(out, "  {:<20} {:<20} {:>8}", e.rpc, e.code, e.count);
            }
        }
        let _ = writeln!(out);
        match (&self.floor, &self.floor_ratio) {
            (Some(floor), Some(ratio)) => {
                let _ = writeln!(
                    out,
                    "{} ({} × {:.1}s, {} {}):",
                    t("同次运行基线", "same-run floor"),
                    3,
                    floor.seconds_each,
                    floor.connections,
                    t("个并发连接", "concurrent connections")
                );
                let _ = writeln!(
                    out,
                    "  {:<40} {:>10.1}",
                    t(
                        "PostgreSQL 提交/秒（INSERT+COMMIT）",
                        "PostgreSQL commits/s"
                    ),
                    floor.pg_commits_per_sec
                );
                let _ = writeln!(
                    out,
                    "  {:<40} {:>10.1}",
                    t("JetStream 已确认发布/秒", "JetStream acked publishes/s"),
                    floor.acked_publishes_per_sec
                );
                let _ = writeln!(
                    out,
                    "  {:<40} {:>10.1}",
                    t("一次提交+一次确认发布/秒", "commit + acked publish pairs/s"),
                    floor.pairs_per_sec
                );
                let _ = writeln!(
                    out,
                    "  {} = {} / ({} / {}) = {}",
                    t("比值", "ratio"),
                    t("办结/秒", "lifecycles/s"),
                    t("组合基线/秒", "pairs/s"),
                    t("每流程对数", "pairs per lifecycle"),
                    ratio.formula
                );
            }
            _ => {
                let _ = writeln!(out, "{}", t("基线：未测量", "floor: not measured"));
            }
        }
        out
    }
}
