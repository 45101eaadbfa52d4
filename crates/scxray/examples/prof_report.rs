// Local profiling harness (not committed).
use scxray::{Inputs, Report, Target};
use scxray_core::{Cap, Limits, VirtAddr};
use scxray_tests::GuestBuilder;
use scxray_tests::elf_core::CoreSpec;
use scxray_tests::kernels::debian_7_3_amd64;
use std::hint::black_box;
use std::path::Path;

const CPUS: u32 = 512;
const USER_DSQS: u32 = 64;
const ENABLED: u32 = 0x400;
const QUEUED: u32 = 0x1;

fn machine(tasks: u32, dir: &Path) -> Inputs {
    let layout = debian_7_3_amd64();
    let mut b = GuestBuilder::new(layout, CPUS, 2);
    b.attach_scheduler(0, USER_DSQS);
    b.set_ops_name("synthetic");
    let user: Vec<VirtAddr> =
        (0..USER_DSQS).map(|i| b.add_user_dsq(0x1000 + u64::from(i), i, false)).collect();
    let mask = b.alloc(u64::from(CPUS / 8), 64);
    b.write(mask, &[0xff; (CPUS / 8) as usize]);
    let cpus_ptr = u64::from(layout.task.unwrap().cpus_ptr.unwrap());
    for i in 0..tasks {
        let t = b.add_task(i as i32 + 1, format!("worker-{i}").as_bytes());
        b.write_u64(VirtAddr(t.0 + cpus_ptr), mask.0);
        let cpu = i % CPUS;
        let queued = match i % 20 {
            _ if i < CPUS => {
                b.set_curr(cpu, t);
                false
            }
            0 | 1 => {
                b.make_runnable(cpu, t);
                true
            }
            2 => {
                let d = b.local_dsq(cpu);
                b.enqueue(d, t);
                true
            }
            3 => {
                b.enqueue(user[(i as usize * 7) % user.len()], t);
                true
            }
            _ => false,
        };
        b.set_see_flags(t, if queued { ENABLED | QUEUED } else { ENABLED });
    }
    let files = b.write_core(&CoreSpec::default());
    let path = |n: &str| dir.join(format!("{tasks}-{n}"));
    if !path("guest.core").exists() {
        std::fs::write(path("guest.core"), &files.core).unwrap();
        std::fs::write(path("System.map"), &files.system_map).unwrap();
        std::fs::write(path("vmlinux.btf"), &files.btf).unwrap();
    }
    Inputs {
        memory: path("guest.core"),
        vmlinux: None,
        btf: Some(path("vmlinux.btf")),
        system_map: Some(path("System.map")),
        raw_base: 0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tasks: u32 = args.get(1).map_or(10_000, |a| a.parse().unwrap());
    let iters: u32 = args.get(2).map_or(3, |a| a.parse().unwrap());
    sizes();
    let mode = args.get(3).cloned().unwrap_or_else(|| "build".into());
    let dir = Path::new("/work/prof-data");
    std::fs::create_dir_all(dir).unwrap();
    let limits = Limits { list_nodes: Cap::Fixed(2 * tasks.max(1000)), ..Limits::DEFAULT };
    if let Ok(dump) = std::env::var("DUMP") {
        let t = Target::configure(&Inputs {
            memory: dump.into(),
            vmlinux: None,
            btf: None,
            system_map: None,
            raw_base: 0,
        })
        .unwrap();
        let mut best = f64::MAX;
        for _ in 0..iters {
            let t0 = std::time::Instant::now();
            drop(black_box(Report::build(&t, Limits::DEFAULT)));
            best = best.min(t0.elapsed().as_secs_f64() * 1e3);
        }
        eprintln!("dump build best {best:.3} ms");
        return;
    }
    let inputs = if Path::new(&format!("/work/prof-data/{tasks}-guest.core")).exists() {
        Inputs {
            memory: dir.join(format!("{tasks}-guest.core")),
            vmlinux: None,
            btf: Some(dir.join(format!("{tasks}-vmlinux.btf"))),
            system_map: Some(dir.join(format!("{tasks}-System.map"))),
            raw_base: 0,
        }
    } else {
        machine(tasks, dir)
    };
    let t = Target::configure(&inputs).unwrap();
    let mut best = f64::MAX;
    for _ in 0..iters {
        let t0 = std::time::Instant::now();
        match mode.as_str() {
            "build" => drop(black_box(Report::build(&t, limits))),
            "walk" => drop(black_box(scxray::walk::walk(&t, limits))),
            "json" => {
                let r = Report::build(&t, limits);
                let t1 = std::time::Instant::now();
                let j = serde_json::to_string_pretty(&r).unwrap();
                eprintln!("json {:.1} ms {} bytes", t1.elapsed().as_secs_f64() * 1e3, j.len());
            }
            _ => panic!(),
        }
        best = best.min(t0.elapsed().as_secs_f64() * 1e3);
    }
    eprintln!("{mode} {tasks}: best {best:.2} ms/iter");
}
#[allow(dead_code)]
pub fn sizes() {
    eprintln!(
        "FoundTask {} TaskReads {} TaskDetail {} TaskReport {} TaskRecord {} TaskRef {} ReadError {} Place {}",
        std::mem::size_of::<scxray::walk::FoundTask>(),
        std::mem::size_of::<scxray::walk::TaskReads>(),
        std::mem::size_of::<scxray_core::TaskDetail>(),
        std::mem::size_of::<scxray::report::schema::TaskReport>(),
        std::mem::size_of::<scxray_wire::TaskRecord>(),
        std::mem::size_of::<scxray::report::schema::TaskRef>(),
        std::mem::size_of::<scxray_core::ReadError>(),
        std::mem::size_of::<scxray::walk::Place>()
    );
}
