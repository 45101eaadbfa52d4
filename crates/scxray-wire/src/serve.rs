//! The embedded side: [`serve`] takes a request and guest memory, walks the scheduler's
//! state and writes the dump into the caller's buffer while the walk runs.

use crate::dump::DumpWriter;
use crate::error::WireError;
use crate::record::{CGROUP_PATH_LEN, OPS_NAME_LEN, Record, SchedNames, SchedulerExtra, TaskRecord};
use crate::request::{Request, Symbols};
use crate::translator::Translator;
use scxray_core::{
    CpuScx, DsqHeader, Field, Guest, HashWalk, ListWalk, PhysMem, Problem, Provenance, SchedState, SubSched,
    TaskEntry, Translate, VirtAddr, Visitor,
};

/// Serves one request: walks the guest in `mem` as `request` describes and writes the dump
/// into `out`. Returns the dump's length.
///
/// # Errors
/// A request that does not decode or configures no valid translator, or an `out` too small
/// for even an empty dump. A dump that does not fit is not an error: its end record counts
/// the records dropped.
pub fn serve<M: PhysMem + ?Sized>(request: &[u8], mem: &M, out: &mut [u8]) -> Result<usize, WireError> {
    serve_with(request, mem, out, |translator| translator)
}

/// [`serve`], walking through `wrap(translator)`: the translator the request configures,
/// wrapped as the caller wants it.
///
/// ```
/// use postcard::ser_flavors::Slice;
/// use scxray_core::{CachedTranslate, FlatImage, Layout, Limits, PhysAddr};
/// use scxray_wire::{Context, LinearRanges, Record, Records, Request, Symbols, TranslatorConfig};
///
/// let request = Request {
///     translator: TranslatorConfig::Linear(LinearRanges::new()),
///     layout: Layout::default(),
///     symbols: Symbols { nr_cpus: 1, nr_nodes: 1, ..Symbols::default() },
///     limits: Limits::DEFAULT,
///     context: Context::default(),
/// };
/// let mut buf = [0u8; 1024];
/// let request = request.encode_with(Slice::new(&mut buf)).unwrap();
/// let mem = FlatImage::new(PhysAddr(0), &[0u8; 4096]);
/// let mut out = [0u8; 1024];
/// // The request's translator behind a software TLB of 64 pages.
/// let n = scxray_wire::serve_with(request, &mem, &mut out, CachedTranslate::<_, 64>::new).unwrap();
/// // Nothing to walk without symbols, and the dump says why.
/// let records: Vec<Record<'_>> = Records::new(&out[..n]).unwrap().map(Result::unwrap).collect();
/// assert!(records.iter().any(|r| matches!(r, Record::Problem(_))));
/// assert!(matches!(records.last(), Some(Record::End(t)) if t.records_dropped == 0));
/// ```
///
/// # Errors
/// As [`serve`].
pub fn serve_with<M, T, W>(request: &[u8], mem: &M, out: &mut [u8], wrap: W) -> Result<usize, WireError>
where
    M: PhysMem + ?Sized,
    T: Translate,
    W: FnOnce(Translator) -> T,
{
    let Request { translator, layout, symbols, limits, context } = Request::decode(request)?;
    let translator = wrap(Translator::from_config(translator)?);
    let guest = Guest::new(mem, &translator, &layout, symbols.kernel_symbols()).with_limits(limits);
    let mut writer = DumpWriter::new(out)?;
    writer.record(&Record::Context(context));
    writer.record(&Record::Shape { nr_cpus: symbols.nr_cpus, nr_nodes: symbols.nr_nodes });
    let mut enc = Encoder { guest, out: writer, symbols: &symbols, root: None };
    guest.walk_machine(&mut enc);
    if let Some(root) = enc.root {
        let enable_state =
            symbols.scx_enable_state_var.and_then(|a| guest.read_le::<u32>(a, Field::EnableStateVar).ok());
        let mut buffers = NameBuffers::new();
        let names = enc.names(&root, &mut buffers);
        enc.out.record(&Record::Scheduler(SchedulerExtra { names, enable_state }));
    }
    Ok(enc.out.finish())
}

/// Where a scheduler's names are read to, on the stack of the one who writes their record
/// (records are written at once, never kept).
struct NameBuffers {
    ops_name: [u8; OPS_NAME_LEN],
    cgroup_path: [u8; CGROUP_PATH_LEN],
}

impl NameBuffers {
    const fn new() -> Self {
        Self { ops_name: [0; OPS_NAME_LEN], cgroup_path: [0; CGROUP_PATH_LEN] }
    }
}

/// The visitor that turns walk events into records.
struct Encoder<'g, 'o, 's, M: ?Sized, T: ?Sized> {
    guest: Guest<'g, M, T>,
    out: DumpWriter<'o>,
    symbols: &'s Symbols,
    root: Option<SchedState>,
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Encoder<'_, '_, '_, M, T> {
    fn task(&self, kva: VirtAddr) -> TaskRecord {
        TaskRecord { kva, identity: self.guest.read_task_identity(kva) }
    }

    /// The names of the scheduler `state` describes, read into `buffers`.
    fn names<'b>(&self, state: &SchedState, buffers: &'b mut NameBuffers) -> SchedNames<'b> {
        let g = &self.guest;
        let NameBuffers { ops_name: name, cgroup_path: path } = buffers;
        let sched = state.sched_kva;
        // 6.12-6.15 have no `struct scx_sched`: the name is the `scx_ops` variable's.
        let name_field =
            if state.provenance == Provenance::Globals { Field::OpsNameVar } else { Field::SchedOpsName };
        let ops_name = self.symbols.ops_name_offset.and_then(|off| {
            let at = sched.member(off, name_field).ok()?;
            g.read_bytes(at, name, name_field).ok()?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            name.get(..end)
        });
        let path_ptr = self.symbols.cgrp_path_offset.and_then(|off| {
            let ptr = g.read_ptr(sched.member(off, Field::SchedCgrpPath).ok()?, Field::SchedCgrpPath).ok()?;
            (ptr.0 != 0).then_some(ptr)
        });
        let (cgroup_path, cgroup_path_cut) = path_ptr
            .and_then(|p| g.read_c_string(p, path, Field::SchedCgrpPathString).ok())
            .map_or((None, false), |(p, cut)| (Some(p), cut));
        SchedNames { ops_name, cgroup_path, cgroup_path_cut }
    }
}

impl<M: PhysMem + ?Sized, T: Translate + ?Sized> Visitor for Encoder<'_, '_, '_, M, T> {
    fn root(&mut self, root: &SchedState) {
        self.root = Some(*root);
        self.out.record(&Record::Root(*root));
    }
    fn cpu(&mut self, cpu: &CpuScx) {
        self.out.record(&Record::Cpu(*cpu));
    }
    fn runnable_task(&mut self, cpu: u32, task: TaskEntry) {
        let task = self.task(task.task_kva);
        self.out.record(&Record::RunnableTask { cpu, task });
    }
    fn runnable_end(&mut self, cpu: u32, walk: &ListWalk) {
        self.out.record(&Record::RunnableEnd { cpu, walk: *walk });
    }
    fn dsq(&mut self, dsq: &DsqHeader) {
        self.out.record(&Record::Dsq(*dsq));
    }
    fn dsq_task(&mut self, _dsq: &DsqHeader, task: TaskEntry) {
        let task = self.task(task.task_kva);
        self.out.record(&Record::DsqTask(task));
    }
    fn dsq_end(&mut self, _dsq: &DsqHeader, walk: &ListWalk) {
        self.out.record(&Record::DsqEnd(*walk));
    }
    fn user_dsqs_end(&mut self, walk: &HashWalk) {
        self.out.record(&Record::UserDsqsEnd(*walk));
    }
    fn sub_sched(&mut self, sched: &SubSched) {
        self.out.record(&Record::SubSched(*sched));
        let mut buffers = NameBuffers::new();
        let names = self.names(&sched.state, &mut buffers);
        self.out.record(&Record::SubSchedNames(names));
    }
    fn sub_scheds_end(&mut self, walk: &ListWalk) {
        self.out.record(&Record::SubSchedsEnd(*walk));
    }
    fn scx_task(&mut self, task: TaskEntry) {
        let task = self.task(task.task_kva);
        self.out.record(&Record::ScxTask(task));
    }
    fn scx_tasks_end(&mut self, walk: &ListWalk) {
        self.out.record(&Record::ScxTasksEnd(*walk));
    }
    fn problem(&mut self, problem: &Problem) {
        self.out.record(&Record::Problem(*problem));
    }
}
