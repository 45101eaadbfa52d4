//! The sampler (`Guest::sample_into`): what one sample of the kit's sampled machine holds,
//! value by value, and how a guest that changes while it is read is marked.

use scxray_core::{
    Consistency, DsqOrigin, FlatImage, Guest, LinearTranslator, MemError, PhysAddr, PhysMem, Sample,
};
use scxray_tests::{SAMPLED_RUNNABLE, sampled_machine};
use std::cell::Cell;

type Small = Sample<8, 64, 4, 3>;

#[test]
fn a_sample_holds_every_cpu_dsq_counter_and_the_oldest_runnable_tasks() {
    let (g, spec) = sampled_machine();
    let mut s = Small::default();
    g.with(|guest| guest.sample_into(&spec, &mut s));
    assert_eq!(s.consistency, Consistency::Stable);
    assert_eq!((s.jiffies, s.enable_state), (Some(10_000), Some(1)));
    let root = s.root.unwrap();
    assert_eq!((root.exit_kind, root.watchdog_timeout), (0, Some(7_500)));
    assert_eq!(s.problems, 0, "{:?}", s.first_problem);
    assert!(!s.truncated);

    let cpus: Vec<_> =
        s.cpus.iter().map(|c| (c.cpu, c.nr_running, c.runnable, c.rq_clock, c.curr_pid)).collect();
    assert_eq!(
        cpus,
        [
            (0, 2, 2, Some(1000), Some(100)),
            (1, 1, 1, Some(2000), Some(101)),
            (2, 1, 1, Some(3000), Some(102)),
            (3, 2, 2, Some(4000), Some(103))
        ]
    );
    assert_eq!(s.cpus[0].curr_comm.unwrap().bytes(), b"runner");
    assert_eq!(s.runnable, 6);

    // Ages against jiffies 10 000, oldest first, the three oldest kept.
    let oldest: Vec<_> = s.oldest.iter().map(|t| (t.pid, t.cpu, t.runnable_at, t.age_jiffies)).collect();
    assert_eq!(
        oldest,
        [(Some(303), 2, 4_000, 6_000), (Some(300), 0, 6_000, 4_000), (Some(302), 1, 9_000, 1_000)]
    );
    assert_eq!(s.oldest[0].comm.unwrap().bytes(), b"waiter");
    assert_eq!(SAMPLED_RUNNABLE.len() as u32, s.runnable);

    // Every DSQ's header: 4 CPUs x (local, reject, rescue), 4 bypass, 2 global, the user DSQ.
    assert_eq!(s.dsqs.len(), 12 + 4 + 2 + 1);
    let user = s.dsqs.iter().find(|d| d.origin == DsqOrigin::User).unwrap();
    assert_eq!((user.id, user.nr, user.seq), (0x42, 2, 17));
    let global1 = s.dsqs.iter().find(|d| d.origin == DsqOrigin::Global { node: 1 }).unwrap();
    assert_eq!(global1.nr, 1);

    // Counters summed over the 4 CPUs.
    assert_eq!(s.events.as_slice(), [1 + 2 + 3 + 4, 10 + 20 + 30 + 40]);
    assert_eq!(s.events_unread, 0);
}

/// Guest memory whose `jiffies` ticks on each of its first `ticks` reads (a running guest).
struct Ticking<'a> {
    image: FlatImage<'a>,
    jiffies_pa: u64,
    ticks: Cell<u32>,
}

impl PhysMem for Ticking<'_> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.image.read(pa, buf)?;
        if pa.0 == self.jiffies_pa && self.ticks.get() > 0 {
            self.ticks.set(self.ticks.get() - 1);
            buf.copy_from_slice(&(20_000 + u64::from(self.ticks.get())).to_le_bytes());
        }
        Ok(())
    }
}

fn sample_ticking(ticks: u32) -> Small {
    let (g, spec) = sampled_machine();
    let mem = Ticking {
        image: FlatImage::new(PhysAddr(g.mem_base), &g.mem),
        jiffies_pa: g.map.pa(spec.jiffies.unwrap().0),
        ticks: Cell::new(ticks),
    };
    let tr = LinearTranslator::new(&g.ranges);
    let guest = Guest::new(&mem, &tr, &g.layout, g.kernel_symbols());
    let mut s = Small::default();
    guest.sample_into(&spec, &mut s);
    s
}

#[test]
fn a_value_that_moves_under_the_sampler_means_a_retry_then_a_torn_sample() {
    // Moves during the first sample only: the second is stable.
    let s = sample_ticking(2);
    assert_eq!(s.consistency, Consistency::Retried);
    assert!(s.is_valid());
    assert_eq!(s.jiffies, Some(10_000));
    // Moves every time: torn, still a full sample, and not one to judge by.
    let s = sample_ticking(u32::MAX);
    assert_eq!(s.consistency, Consistency::Torn);
    assert!(!s.is_valid());
    assert_eq!(s.cpus.len(), 4);
    // Still stable when nothing moves.
    assert_eq!(sample_ticking(0).consistency, Consistency::Stable);
}

#[test]
fn a_sample_of_unreadable_memory_reports_problems_and_never_panics() {
    let (mut g, spec) = sampled_machine();
    g.poison(spec.jiffies.unwrap(), 8);
    let mut s = Small::default();
    g.with(|guest| guest.sample_into(&spec, &mut s));
    assert_eq!(s.jiffies, None);
    assert!(s.oldest.is_empty(), "no ages without jiffies");
    assert!(s.problems >= 1);
    // A blank layout: nothing to sample, and it says so.
    g.layout = scxray_core::Layout::default();
    g.with(|guest| guest.sample_into(&spec, &mut s));
    assert!(s.cpus.is_empty() && s.dsqs.is_empty());
    assert!(s.first_problem.is_some());
}

/// Guest memory that caches what it read (like a VMM process's page cache) over a `jiffies`
/// that moves on every uncached read.
struct Cached<'a> {
    image: FlatImage<'a>,
    jiffies_pa: u64,
    cached: Cell<Option<u64>>,
    ticks: Cell<u64>,
}

impl PhysMem for Cached<'_> {
    fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemError> {
        self.image.read(pa, buf)?;
        if pa.0 == self.jiffies_pa {
            let v = self.cached.get().unwrap_or_else(|| {
                self.ticks.set(self.ticks.get() + 1);
                20_000 + self.ticks.get()
            });
            self.cached.set(Some(v));
            buf.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }
}

#[test]
fn over_a_caching_memory_the_re_read_goes_past_the_cache() {
    let (g, spec) = sampled_machine();
    let mem = Cached {
        image: FlatImage::new(PhysAddr(g.mem_base), &g.mem),
        jiffies_pa: g.map.pa(spec.jiffies.unwrap().0),
        cached: Cell::new(None),
        ticks: Cell::new(0),
    };
    let tr = LinearTranslator::new(&g.ranges);
    let guest = Guest::new(&mem, &tr, &g.layout, g.kernel_symbols());
    let mut s = Small::default();
    // Without a refresh the re-read sees the cache: the moving jiffies goes unnoticed.
    guest.sample_into(&spec, &mut s);
    assert_eq!(s.consistency, Consistency::Stable);
    // With one, it is seen: sampled again, moved again, torn.
    guest.sample_into_refreshing(&spec, &mut s, || mem.cached.set(None));
    assert_eq!(s.consistency, Consistency::Torn);
    // Its first sample read the cache (the caller refreshes before a sample), then three reads
    // went past it: the re-read, the second sample, the second re-read.
    assert_eq!(mem.ticks.get(), 1 + 3);
}
