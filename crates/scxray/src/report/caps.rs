//! The caps that fired: which walk each cut, at what value, how that value was set, and the
//! flag that raises it. The report states them first (text) and in `problems` (JSON): a
//! report cut short must say so before anything else in it.

use super::schema::{CapFired, hex};
use crate::walk::Walks;
use scxray_core::{CapBasis, HashTruncation, HashWalk, Limit, ListWalk, VirtAddr, WalkCap};

/// The `scxray dump` flag that fixes `limit`, when one does.
fn flag(limit: Limit) -> Option<&'static str> {
    match limit {
        Limit::ListNodes => Some("--max-list-nodes"),
        Limit::RhtNodes => Some("--max-rht-nodes"),
        Limit::RhtBuckets => Some("--max-buckets"),
        Limit::BucketChain => Some("--max-chain"),
        Limit::SubScheds => Some("--max-sub-scheds"),
        Limit::SchedDepth => None,
    }
}

fn unit(limit: Limit) -> &'static str {
    match limit {
        Limit::ListNodes => "nodes",
        Limit::RhtNodes => "user DSQs",
        Limit::RhtBuckets => "buckets",
        Limit::BucketChain => "nodes on one bucket chain",
        Limit::SubScheds => "sub-schedulers",
        Limit::SchedDepth => "levels",
    }
}

/// How the cap got its value, in words.
fn basis(b: CapBasis) -> String {
    match b {
        CapBasis::Fixed => "a fixed cap".into(),
        CapBasis::Floor { count } => format!("the floor; the kernel counts {count}"),
        CapBasis::Count { count } => format!("sized from the kernel's count, {count}"),
        CapBasis::Ceiling { count } => format!("the ceiling; the kernel's count, {count}, is past it"),
        CapBasis::NoCount => "the ceiling; no kernel count to size it".into(),
        CapBasis::Budget => "what the machine-wide budget of list nodes had left".into(),
    }
}

impl CapFired {
    fn new(walk: String, cap: WalkCap) -> Self {
        Self {
            walk,
            flag: flag(cap.limit).map(str::to_owned),
            value: cap.value,
            basis: basis(cap.basis),
            limit: cap.limit,
        }
    }

    /// One line: what stopped where, and how to walk past it.
    pub fn describe(&self) -> String {
        let raise = match &self.flag {
            Some(f) => format!("raise it with {f} N"),
            None => "the kernel's own maximum, no flag raises it".into(),
        };
        format!("{} cut at {} {} ({}); {raise}", self.walk, self.value, unit(self.limit), self.basis)
    }
}

fn list(out: &mut Vec<CapFired>, walk: impl FnOnce() -> String, w: &ListWalk) {
    if w.truncated {
        out.push(CapFired::new(walk(), w.cap));
    }
}

fn hash(out: &mut Vec<CapFired>, sched: Option<VirtAddr>, w: &HashWalk) {
    let of = sched.map_or_else(|| "the root scheduler".to_owned(), |k| format!("scx_sched {}", hex(k.0)));
    for (flag, cap) in [
        (HashTruncation::BUCKETS, w.bucket_cap),
        (HashTruncation::NODES, w.node_cap),
        (HashTruncation::CHAIN, WalkCap::fixed(Limit::BucketChain, w.chain_cap)),
    ] {
        if w.truncated.contains(flag) {
            out.push(CapFired::new(format!("dsq_hash of {of}"), cap));
        }
    }
}

impl<T> Walks<T> {
    /// Every cap that cut a walk, in walk order.
    pub fn caps_fired(&self) -> Vec<CapFired> {
        let mut out = Vec::new();
        for (s, _, w) in &self.cpus {
            list(&mut out, || format!("the runnable_list of CPU {}", s.cpu), w);
        }
        for (h, _, w) in &self.dsqs {
            list(&mut out, || format!("DSQ {} at {}", h.origin, hex(h.kva.0)), w);
        }
        if let Some(u) = &self.user {
            hash(&mut out, None, u);
        }
        for (s, u) in &self.subs {
            if let Some(u) = u {
                hash(&mut out, Some(s.state.sched_kva), u);
            }
        }
        if let Some(w) = &self.subs_walk {
            list(&mut out, || "the sub-scheduler tree".into(), w);
        }
        list(&mut out, || "scx_tasks".into(), &self.tasks_walk);
        out
    }
}
