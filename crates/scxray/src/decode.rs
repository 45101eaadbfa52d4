//! The host side of the wire format ([`scxray_core::wire`]): [`request`] encodes what an
//! embedded scxray needs to walk a configured [`Target`], and [`decode`] turns the dump it
//! sends back into the same [`Report`] `scxray dump` builds (`scxray decode FILE`).
//!
//! The embedded side reads the pid and comm of every task where it finds it, every
//! scheduler's `ops.name` and cgroup path, and `scx_enable_state_var`; the host facts it
//! cannot know (release, paging, memory, the names of `enum scx_exit_kind` and
//! `enum scx_enable_state` from BTF) travel in the request's [`Context`], which it echoes.

use crate::config::Target;
use crate::error::Error;
use crate::report::{
    MachineFacts, Report, SCHEMA, SchedEntry, SchedulerFacts, TaskRef, describe_problem, provenance_name,
};
use crate::translator::AnyTranslator;
use crate::walks::Walks;
use scxray_aarch64::{Granule, TcrEl1, Ttbr1El1, bits_to_ips};
use scxray_core::wire::{
    Aarch64Config, CGROUP_PATH_LEN, Context, EnumName, Header, LinearRule, MAX_ENUM_NAMES, Record, Request,
    SchedNames, Symbols, TaskRecord, TranslatorConfig, X86_64Config,
};
use scxray_core::{Limits, Problem, SchedState, VirtAddr};
use scxray_x86_64::PagingMode;

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// The constants of `enum name` in BTF order, each value masked to the enum's width.
fn enum_constants(btf: &scxray_btf::Btf<'_>, name: &str) -> Vec<(u64, String)> {
    let Some(ty) = btf.find_enum(name).ok().flatten() else { return Vec::new() };
    (0..u32::from(ty.vlen))
        .filter_map(|i| ty.enumerator(i))
        .filter_map(|e| {
            let mask = if e.value.size >= 8 { u64::MAX } else { (1u64 << (8 * e.value.size)) - 1 };
            let v = e.value.value as u64 & mask;
            Some((v, btf.str_at(e.name_off).ok()?.to_owned()))
        })
        .take(MAX_ENUM_NAMES)
        .collect()
}

/// The wire form of a translator.
fn translator_config(t: &AnyTranslator) -> Result<TranslatorConfig, Error> {
    Ok(match t {
        AnyTranslator::X86(t) => {
            let c = t.config();
            TranslatorConfig::X86_64(X86_64Config {
                cr3: c.cr3.0,
                five_level: c.paging_mode == PagingMode::FiveLevel,
                page_offset_base: c.page_offset_base,
                direct_map_size: c.direct_map_size,
                phys_base: c.phys_base,
                kernel_map_start: c.kernel_map_start,
                kernel_image_size: c.kernel_image_size,
                max_phys_bits: c.max_phys_bits,
                phys_end: c.phys_end,
                prefer_walk: c.prefer_walk,
            })
        }
        AnyTranslator::Aarch64(t) => {
            // The registers the walker was made from, rebuilt from its geometry.
            let g = t.walker().geometry();
            let t1sz = u8::try_from(64 - g.va_bits())
                .map_err(|_| Error::Internal("aarch64 VA size out of range".into()))?;
            let ips = bits_to_ips(g.pa_bits())
                .ok_or_else(|| Error::Internal("aarch64 PA size without an IPS encoding".into()))?;
            let ds = g.format().is_52bit() && g.granule() != Granule::K64;
            let tcr = TcrEl1::new(t1sz, g.granule(), ips, ds);
            let ttbr = Ttbr1El1::from_table(t.walker().root().0, g.format());
            TranslatorConfig::Aarch64(Aarch64Config {
                ttbr1_el1: ttbr.bits(),
                tcr_el1: tcr.bits(),
                linear_map: t.linear_map().map(|l| LinearRule {
                    start: l.start,
                    end: l.end,
                    offset: l.phys_offset,
                }),
                kernel_image: t.kernel_image().map(|i| LinearRule {
                    start: i.start,
                    end: i.end,
                    offset: i.voffset,
                }),
            })
        }
    })
}

/// Encodes the request that makes an embedded scxray walk `target` under `limits`.
pub fn request(target: &Target, limits: Limits) -> Result<Vec<u8>, Error> {
    let btf = target.parsed_btf();
    let exit_kinds = btf.as_ref().map(|b| enum_constants(b, "scx_exit_kind")).unwrap_or_default();
    // 6.12-6.14 name the enum `scx_ops_enable_state`.
    let enable_states = btf
        .as_ref()
        .map(|b| {
            let v = enum_constants(b, "scx_enable_state");
            if v.is_empty() { enum_constants(b, "scx_ops_enable_state") } else { v }
        })
        .unwrap_or_default();
    // The root's `sched_kva` is `&scx_ops` itself on a kernel with the globals.
    let ops_name_path =
        if target.symbols.globals.is_some() { "sched_ext_ops.name" } else { "scx_sched.ops.name" };
    let offset = |path: &str| {
        btf.as_ref().and_then(|b| b.member_offset(path).ok().flatten()).and_then(|m| m.byte_offset())
    };
    fn names(v: &[(u64, String)]) -> heapless::Vec<EnumName<'_>, MAX_ENUM_NAMES> {
        v.iter().map(|(value, name)| EnumName { value: *value, name }).collect()
    }
    let arch = target.arch.to_string();
    let memory = target.memory.describe();
    let s = &target.symbols;
    let req = Request {
        translator: translator_config(&target.translator)?,
        layout: target.layout,
        symbols: Symbols {
            runqueues: s.runqueues.map(VirtAddr),
            per_cpu_offset: s.per_cpu_offset.map(VirtAddr),
            per_cpu_slots: target.nr_cpus,
            scx_root: s.scx_root.map(VirtAddr),
            scx_tasks: s.scx_tasks.map(VirtAddr),
            nr_cpus: target.nr_cpus,
            nr_nodes: target.nr_nodes,
            scx_enable_state_var: s.scx_enable_state_var.map(VirtAddr),
            ops_name_offset: offset(ops_name_path),
            cgrp_path_offset: if s.globals.is_some() { None } else { offset("scx_sched.cgrp_path") },
            globals: s.globals,
        },
        limits,
        context: Context {
            arch: &arch,
            release: target.release.as_deref(),
            paging: &target.paging,
            kaslr_offset: target.kaslr_offset,
            memory: &memory,
            exit_kinds: names(&exit_kinds),
            enable_states: names(&enable_states),
        },
    };
    let out = postcard::to_stdvec(&Header::REQUEST).map_err(|e| Error::Internal(format!("wire: {e}")))?;
    postcard::to_extend(&req, out).map_err(|e| Error::Internal(format!("wire: {e}")))
}

/// A dump's records, collected.
#[derive(Default)]
struct Collected<'a> {
    context: Option<Context<'a>>,
    shape: Option<(u32, u32)>,
    root: Option<SchedState>,
    root_names: SchedNames<'a>,
    enable_state: Option<u32>,
    /// Each sub-scheduler's names, by its `scx_sched` address.
    sub_names: Vec<(VirtAddr, SchedNames<'a>)>,
    walks: Walks<TaskRecord>,
    problems: Vec<Problem>,
    dropped: Option<u32>,
}

fn bad(what: &str) -> Error {
    Error::BadInput(format!("scxray wire dump: {what}"))
}

fn collect(bytes: &[u8]) -> Result<Collected<'_>, Error> {
    let (header, mut rest) =
        postcard::take_from_bytes::<Header>(bytes).map_err(|_| bad("too short for a header"))?;
    header.check(Header::DUMP).map_err(|e| bad(&e.to_string()))?;
    let mut c = Collected::default();
    while c.dropped.is_none() {
        let (record, r) = postcard::take_from_bytes::<Record<'_>>(rest)
            .map_err(|e| bad(&format!("record at byte {}: {e}", bytes.len() - rest.len())))?;
        rest = r;
        match record {
            Record::Context(x) => c.context = Some(x),
            Record::Shape { nr_cpus, nr_nodes } => c.shape = Some((nr_cpus, nr_nodes)),
            Record::Root(r) => c.root = Some(r),
            Record::Scheduler(s) => {
                c.root_names = s.names;
                c.enable_state = s.enable_state;
            }
            Record::Cpu(s) => c.walks.cpu(s),
            Record::RunnableTask { cpu, task } => c.walks.runnable_task(cpu, task),
            Record::RunnableEnd { cpu, walk } => c.walks.runnable_end(cpu, walk),
            Record::Dsq(h) => c.walks.dsq(h),
            Record::DsqTask(t) => c.walks.dsq_task(t),
            Record::DsqEnd(w) => c.walks.dsq_end(w),
            Record::UserDsqsEnd(w) => c.walks.user_dsqs_end(w),
            Record::SubSched(x) => c.walks.sub_sched(x),
            Record::SubSchedNames(n) => {
                if let Some((last, _)) = c.walks.subs.last() {
                    c.sub_names.push((last.state.sched_kva, n));
                }
            }
            Record::SubSchedsEnd(w) => c.walks.sub_scheds_end(w),
            Record::ScxTask(t) => c.walks.scx_task(t),
            Record::ScxTasksEnd(w) => c.walks.scx_tasks_end(w),
            Record::Problem(p) => c.problems.push(p),
            Record::End(t) => c.dropped = Some(t.records_dropped),
        }
    }
    if !rest.is_empty() {
        return Err(bad(&format!("{} bytes after the end record", rest.len())));
    }
    Ok(c)
}

fn task_ref(t: &TaskRecord) -> TaskRef {
    match &t.identity {
        Ok(id) => {
            TaskRef { kva: hex(t.kva.0), pid: Some(id.pid), comm: Some(id.comm.to_string()), error: None }
        }
        Err(e) => TaskRef { kva: hex(t.kva.0), pid: None, comm: None, error: Some(e.to_string()) },
    }
}

/// A name the guest wrote, for the report (lossy UTF-8, like the direct report).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn name_of<'a>(names: &'a [EnumName<'a>], value: u64) -> Option<&'a str> {
    names.iter().find(|n| n.value == value).map(|n| n.name)
}

/// Decodes a wire dump into the report `scxray dump` prints for the same guest.
pub fn decode(bytes: &[u8]) -> Result<Report, Error> {
    let c = collect(bytes)?;
    let ctx = c.context.clone().ok_or_else(|| bad("no context record"))?;
    let (nr_cpus, nr_nodes) = c.shape.ok_or_else(|| bad("no shape record"))?;
    let scheduler = c.root.map(|r| SchedulerFacts {
        state: c.enable_state.map(|v| match name_of(&ctx.enable_states, u64::from(v)) {
            Some(n) => n.trim_start_matches("SCX_OPS_").trim_start_matches("SCX_").to_ascii_lowercase(),
            None => format!("state {v}"),
        }),
        ops_name: c.root_names.ops_name.map(text),
        sched_kva: hex(r.sched_kva.0),
        exit_kind: r.exit_kind,
        exit_kind_name: name_of(&ctx.exit_kinds, u64::from(r.exit_kind)).map(str::to_owned),
        aborting: r.aborting,
        bypass_depth: r.bypass_depth,
        // The wire carries neither the exit info nor the event counters (host-side BTF reads).
        exit: None,
        events: std::collections::BTreeMap::new(),
        provenance: provenance_name(r.provenance).into(),
    });
    let owned = |sched: VirtAddr| c.walks.owned(sched);
    let exit_name = |k: u32| name_of(&ctx.exit_kinds, u64::from(k)).map(str::to_owned);
    let no_names = SchedNames::default();
    let names_of =
        |sched: VirtAddr| c.sub_names.iter().find(|(k, _)| *k == sched).map_or(&no_names, |(_, n)| n);
    let mut schedulers: Vec<SchedEntry> = c
        .root
        .iter()
        .map(|r| {
            SchedEntry::new(
                r,
                None,
                Some(0),
                0,
                c.root_names.ops_name.map(text),
                c.root_names.cgroup_path.map(text),
                exit_name(r.exit_kind),
                owned(r.sched_kva),
                c.walks.user.as_ref(),
            )
        })
        .collect();
    for (sub, user) in &c.walks.subs {
        let names = names_of(sub.state.sched_kva);
        schedulers.push(SchedEntry::new(
            &sub.state,
            Some(sub.parent_kva),
            sub.level,
            sub.depth,
            names.ops_name.map(text),
            names.cgroup_path.map(text),
            exit_name(sub.state.exit_kind),
            owned(sub.state.sched_kva),
            user.as_ref(),
        ));
    }
    let mut truncated = c.walks.truncated();
    let mut problems: Vec<String> = c.problems.iter().map(describe_problem).collect();
    let cut =
        c.root.iter().map(|r| (r.sched_kva, &c.root_names)).chain(c.sub_names.iter().map(|(k, n)| (*k, n)));
    for (sched, _) in cut.filter(|(_, n)| n.cgroup_path_cut) {
        truncated = true;
        problems.push(format!(
            "scheduler {:#x}: the embedded side cut its cgroup path at {CGROUP_PATH_LEN} bytes",
            sched.0
        ));
    }
    if let Some(n) = c.dropped.filter(|&n| n > 0) {
        truncated = true;
        problems.push(format!(
            "the embedded side's output buffer was full: {n} records of the dump were dropped"
        ));
    }
    Ok(Report {
        // The wire carries neither the global sched_ext state nor per-task detail.
        sched_ext: crate::diagnose::GlobalState::default(),
        tasks: Vec::new(),
        unreadable_tasks: Vec::new(),
        schema: SCHEMA.into(),
        machine: MachineFacts {
            arch: ctx.arch.to_owned(),
            release: ctx.release.map(str::to_owned),
            cpus: nr_cpus,
            nodes: nr_nodes,
            paging: ctx.paging.to_owned(),
            kaslr_offset: hex(ctx.kaslr_offset),
            memory: ctx.memory.to_owned(),
        },
        scheduler,
        schedulers,
        sub_scheds_walk: c.walks.sub_scheds_walk(),
        cpus: c.walks.cpu_reports(task_ref),
        dsqs: c.walks.dsq_reports(task_ref),
        user_dsqs: c.walks.user_dsqs_report(),
        scx_tasks: c.walks.scx_tasks_report(task_ref),
        problems,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scxray_aarch64::{Aarch64KernelConfig, Aarch64Translator, KernelImage};
    use scxray_core::PhysAddr;

    /// The registers rebuilt for the wire make the walker the host had, with its rules.
    #[test]
    fn aarch64_translators_cross_the_wire_unchanged() {
        // (page size, VA_BITS, T1SZ, LPA2): 4K 48-bit, 16K 47-bit, 64K 52-bit on 48-bit
        // hardware, 4K 52-bit LPA2, 64K 52-bit with FEAT_LPA.
        let shapes = [
            (4096, 48, Some(16), false),
            (16384, 47, Some(17), false),
            (65536, 52, Some(16), false),
            (4096, 52, Some(12), true),
            (65536, 52, Some(12), true),
        ];
        for (page_size, va_bits, t1sz, lpa2) in shapes {
            let info = Aarch64KernelConfig {
                swapper_pg_dir: PhysAddr(0x4_1234_0000 & !(page_size - 1)),
                va_bits,
                tcr_el1_t1sz: t1sz,
                page_size,
                lpa2,
            };
            let host = Aarch64Translator::from_kernel_config(&info)
                .unwrap()
                .with_linux_linear_map(0x4000_0000)
                .with_kernel_image(KernelImage {
                    start: VirtAddr(0xffff_8000_8000_0000),
                    end: VirtAddr(0xffff_8000_8200_0000),
                    voffset: 0xffff_7fff_4000_0000,
                });
            let TranslatorConfig::Aarch64(c) = translator_config(&AnyTranslator::Aarch64(host)).unwrap()
            else {
                panic!("not an aarch64 config");
            };
            let embedded = Aarch64Translator::from_registers(c.ttbr1_el1, c.tcr_el1).unwrap();
            assert_eq!(embedded.walker(), host.walker(), "{page_size} {va_bits} {t1sz:?} {lpa2}");
            let l = host.linear_map().unwrap();
            assert_eq!(c.linear_map, Some(LinearRule { start: l.start, end: l.end, offset: l.phys_offset }));
            let i = host.kernel_image().unwrap();
            assert_eq!(c.kernel_image, Some(LinearRule { start: i.start, end: i.end, offset: i.voffset }));
        }
    }
}
