//! Wire format version 4, byte for byte (version 3's bytes were pinned when the format moved
//! here from `scxray_core::wire`; version 4 adds the kernel-sized caps). A change to how
//! any type a message carries encodes (a layout member added, `Field` variants reordered, a
//! record changed) changes these bytes: that is a new format version, not a fix to this test.

use scxray_core::{
    Comm, Field, Limits, PhysAddr, ReadCause, ReadError, TaskIdentity, TranslateError, VirtAddr,
};
use scxray_wire::{
    Context, EnumName, Header, Record, Records, Request, SchedNames, SchedulerExtra, Symbols, TaskRecord,
    Trailer, TranslatorConfig, X86_64Config,
};

fn request() -> Request<'static> {
    let mut exit_kinds = heapless::Vec::new();
    for (value, name) in [(0, "SCX_EXIT_NONE"), (64, "SCX_EXIT_UNREG"), (1024, "SCX_EXIT_ERROR")] {
        exit_kinds.push(EnumName { value, name }).unwrap();
    }
    let mut enable_states = heapless::Vec::new();
    enable_states.push(EnumName { value: 1, name: "SCX_ENABLED" }).unwrap();
    Request {
        translator: TranslatorConfig::X86_64(X86_64Config {
            cr3: 0x1_0c0a_e001,
            five_level: false,
            page_offset_base: VirtAddr(0xffff_9a4c_8000_0000),
            direct_map_size: 4 << 30,
            phys_base: PhysAddr(0u64.wrapping_sub(0x2a0_0000)),
            kernel_map_start: VirtAddr(0xffff_ffff_8000_0000),
            kernel_image_size: 1 << 30,
            max_phys_bits: 46,
            phys_end: Some(PhysAddr(4 << 30)),
            prefer_walk: false,
        }),
        layout: scxray_tests::kernels::debian_7_3_amd64(),
        symbols: Symbols {
            runqueues: Some(VirtAddr(0x3_4c40)),
            per_cpu_offset: Some(VirtAddr(0xffff_ffff_8300_0000)),
            per_cpu_slots: 4,
            scx_root: Some(VirtAddr(0xffff_ffff_8350_1230)),
            scx_tasks: Some(VirtAddr(0xffff_ffff_8350_1240)),
            nr_cpus: 4,
            nr_nodes: 1,
            scx_enable_state_var: Some(VirtAddr(0xffff_ffff_8350_1250)),
            ops_name_offset: Some(0x3a8),
            cgrp_path_offset: Some(0x470),
            globals: None,
            nr_threads: Some(VirtAddr(0xffff_ffff_8350_1260)),
        },
        limits: Limits::DEFAULT,
        context: Context {
            arch: "x86_64",
            release: Some("7.3.0"),
            paging: "x86_64 4-level",
            kaslr_offset: 0x200_0000,
            memory: "ELF core",
            exit_kinds,
            enable_states,
        },
    }
}

fn records() -> [Record<'static>; 6] {
    let task = |kva| TaskRecord {
        kva: VirtAddr(kva),
        identity: Ok(TaskIdentity { kva: VirtAddr(kva), pid: 4321, comm: Comm(*b"stress-ng\0\0\0\0\0\0\0") }),
    };
    let unreadable = TaskRecord {
        kva: VirtAddr(0xffff_9a4c_8123_4000),
        identity: Err(ReadError {
            field: Field::TaskComm,
            kva: VirtAddr(0xffff_9a4c_8123_4b58),
            cause: ReadCause::Translate(TranslateError::NotMapped {
                va: VirtAddr(0xffff_9a4c_8123_4b58),
                level: 3,
            }),
        }),
    };
    [
        Record::Shape { nr_cpus: 4, nr_nodes: 1 },
        Record::ScxTask(task(0xffff_9a4c_8100_0000)),
        Record::ScxTask(unreadable),
        Record::SubSchedNames(SchedNames {
            ops_name: Some(b"qmap_sub"),
            cgroup_path: Some(b"/scxsub1"),
            cgroup_path_cut: false,
        }),
        Record::Scheduler(SchedulerExtra {
            names: SchedNames { ops_name: Some(b"qmap"), cgroup_path: Some(b"/"), cgroup_path_cut: true },
            enable_state: Some(1),
        }),
        Record::End(Trailer { records_dropped: 2 }),
    ]
}

/// The request's bytes, header first.
const REQUEST: &str = concat!(
    "53585251040081c0abe0100080808080c8c9e6ffff018080808010808080ebffffffffff0180808080f8ffff",
    "ffff0180808080042e0180808080100001f8131801a82001901f01009003c003cc03c9030001800401d00301",
    "d803016801d001018806b816d01a01bc160118013501a00b01a001388002700108011001180174017c018001",
    "01b00101d00101d8010110282c303801001001b804900701d80501e80501940601800601c80601d806019c06",
    "01b00201000100004000019c0180808080080101c0980d0180808098f8ffffffff010401b0a4c09af8ffffff",
    "ff0101c0a4c09af8ffffffff01040101d0a4c09af8ffffffff0101a80701f0080001e0a4c09af8ffffffff01",
    "008020808081020080408080400080800480808001800820067838365f36340105372e332e300e7838365f36",
    "3420342d6c6576656c8080801008454c4620636f726503000d5343585f455849545f4e4f4e45400e5343585f",
    "455849545f554e52454780080e5343585f455849545f4552524f5201010b5343585f454e41424c4544",
);

/// A dump of the records: its header, then each record.
const DUMP: &str = concat!(
    "53584450040104010e80808088c8c9e6ffff010080808088c8c9e6ffff01c2437374726573732d6e67000000",
    "000000000e80808d89c8c9e6ffff01010bd8968d89c8c9e6ffff010000d8968d89c8c9e6ffff01030c010871",
    "6d61705f73756201082f7363787375623100030104716d617001012f0101011102",
);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn a_request_is_the_bytes_of_version_4() {
    let bytes = request().encode_with(postcard::ser_flavors::AllocVec::new()).unwrap();
    assert_eq!(hex(&bytes), REQUEST);
    let golden = unhex(REQUEST);
    assert_eq!(Request::decode(&golden), Ok(request()));
}

#[test]
fn records_are_the_bytes_of_version_4() {
    let mut bytes = postcard::to_allocvec(&Header::DUMP).unwrap();
    for r in records() {
        bytes.extend(postcard::to_allocvec(&r).unwrap());
    }
    assert_eq!(hex(&bytes), DUMP);
    let golden = unhex(DUMP);
    let back: Vec<_> = Records::new(&golden).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, records());
}
