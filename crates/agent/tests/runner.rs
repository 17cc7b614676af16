//! The runner's behaviour as a user relies on it: agents land on the cores they were
//! configured for, bad core configuration is reported by name, and shutdown drains rings.
#![allow(clippy::cast_possible_truncation)] // test counts are small

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossline_agent::{
    current_cpu, Agent, Composite, Cores, Idle, Runner, RunnerError, ThreadSpec,
};

/// Records the CPU it runs on and counts its duty cycles.
struct WhereAmI {
    cpu: Arc<AtomicUsize>,
    cycles: Arc<AtomicUsize>,
}

impl Agent for WhereAmI {
    fn role_name(&self) -> &str {
        "where_am_i"
    }
    fn do_work(&mut self) -> usize {
        // Reading /proc is slow, so sample only every 4096th cycle.
        let cycle = self.cycles.fetch_add(1, Ordering::Relaxed);
        if cycle % 4096 == 0 {
            if let Some(cpu) = current_cpu() {
                self.cpu.store(cpu, Ordering::Relaxed);
            }
        }
        0
    }
}

#[test]
fn two_pinned_agents_run_on_their_two_different_cores() {
    let cores = Cores::detect();
    assert!(
        cores.len() >= 2,
        "this test needs two cores to prove pinning; the machine offers {:?}",
        cores.ids()
    );
    let (first, second) = (cores.ids()[0], cores.ids()[1]);
    let observed: Vec<(Arc<AtomicUsize>, Arc<AtomicUsize>)> = (0..2)
        .map(|_| {
            (
                Arc::new(AtomicUsize::new(usize::MAX)),
                Arc::new(AtomicUsize::new(0)),
            )
        })
        .collect();
    let spec = |name: &str, core: usize, index: usize| {
        let (cpu, cycles) = &observed[index];
        ThreadSpec::new(
            name,
            Box::new(WhereAmI {
                cpu: Arc::clone(cpu),
                cycles: Arc::clone(cycles),
            }),
        )
        .pin(core)
        .idle(Idle::Yield)
    };
    let runner = Runner::start(&cores, vec![spec("a", first, 0), spec("b", second, 1)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while observed
        .iter()
        .any(|(_, cycles)| cycles.load(Ordering::Relaxed) < 3 * 4096)
    {
        assert!(Instant::now() < deadline, "agents did not run");
        std::thread::sleep(Duration::from_millis(5));
    }
    let reports = runner.stop().unwrap();
    assert_eq!(reports[0].core, Some(first));
    assert_eq!(reports[1].core, Some(second));
    assert_eq!(
        observed[0].0.load(Ordering::Relaxed),
        first,
        "agent a ran off its core"
    );
    assert_eq!(
        observed[1].0.load(Ordering::Relaxed),
        second,
        "agent b ran off its core"
    );
    assert_ne!(first, second);
    // The main thread is not pinned by the runner: the machine's cores are still visible.
    assert_eq!(Cores::detect().ids(), cores.ids());
}

struct Idler;

impl Agent for Idler {
    fn role_name(&self) -> &str {
        "idler"
    }
    fn do_work(&mut self) -> usize {
        0
    }
}

#[test]
fn a_core_that_does_not_exist_is_named_in_the_error() {
    let cores = Cores::from_ids(vec![0, 1]);
    let spec = ThreadSpec::new("matcher", Box::new(Idler)).pin(64);
    let error = Runner::start(&cores, vec![spec]).err().unwrap();
    assert_eq!(
        error,
        RunnerError::CoreNotFound {
            thread: "matcher".into(),
            core: 64,
            available: vec![0, 1]
        }
    );
    assert!(error.to_string().contains("core 64"), "{error}");
}

#[test]
fn a_core_assigned_twice_is_refused() {
    let cores = Cores::detect();
    let core = cores.ids()[0];
    let specs = vec![
        ThreadSpec::new("risk", Box::new(Idler)).pin(core),
        ThreadSpec::new("matcher", Box::new(Idler)).pin(core),
    ];
    let error = Runner::start(&cores, specs).err().unwrap();
    assert!(
        matches!(error, RunnerError::CoreAssignedTwice { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("\"risk\" and \"matcher\""),
        "{error}"
    );
}

/// Publishes `0..total` into a ring, as fast as the ring allows.
struct Source {
    producer: crossline_ring::Producer<u64>,
    next: u64,
    total: u64,
}

impl Agent for Source {
    fn role_name(&self) -> &str {
        "source"
    }
    fn do_work(&mut self) -> usize {
        let mut claim = self
            .producer
            .claim((self.total - self.next).min(64) as usize);
        while claim.remaining() > 0 {
            claim.write(self.next).unwrap();
            self.next += 1;
        }
        claim.publish()
    }
    fn has_pending_work(&self) -> bool {
        self.next < self.total
    }
}

/// Consumes the ring, checking order.
struct Sink {
    consumer: crossline_ring::Consumer<u64>,
    received: Arc<AtomicUsize>,
    expected: u64,
}

impl Agent for Sink {
    fn role_name(&self) -> &str {
        "sink"
    }
    fn do_work(&mut self) -> usize {
        let expected = &mut self.expected;
        let count = self.consumer.drain(64, |value| {
            assert_eq!(*value, *expected, "out of order");
            *expected += 1;
        });
        self.received.fetch_add(count, Ordering::Relaxed);
        count
    }
}

const TOTAL: u64 = 200_000;

fn pipeline(received: &Arc<AtomicUsize>) -> (Box<dyn Agent>, Box<dyn Agent>) {
    let (producer, consumer) = crossline_ring::channel::<u64>(256).unwrap();
    let source = Box::new(Source {
        producer,
        next: 0,
        total: TOTAL,
    });
    let sink = Box::new(Sink {
        consumer,
        received: Arc::clone(received),
        expected: 0,
    });
    (source, sink)
}

#[test]
fn stopping_at_once_still_drains_every_message_in_flight() {
    let received = Arc::new(AtomicUsize::new(0));
    let (source, sink) = pipeline(&received);
    let cores = Cores::detect();
    let specs = vec![
        ThreadSpec::new("source", source).idle(Idle::Yield),
        ThreadSpec::new("sink", sink).idle(Idle::Yield),
    ];
    // Stop immediately: both threads keep running until they are at rest together.
    let reports = Runner::start(&cores, specs).unwrap().stop().unwrap();
    assert_eq!(received.load(Ordering::Relaxed) as u64, TOTAL);
    assert!(reports.iter().all(|report| report.drained), "{reports:?}");
    assert_eq!(reports[1].work_count, TOTAL);
}

#[test]
fn a_composite_runs_a_whole_pipeline_on_one_thread() {
    let received = Arc::new(AtomicUsize::new(0));
    let (source, sink) = pipeline(&received);
    let composite = Composite::new(vec![source, sink]);
    let cores = Cores::detect();
    let spec = ThreadSpec::new("pipeline", Box::new(composite)).pin(cores.ids()[0]);
    let reports = Runner::start(&cores, vec![spec]).unwrap().stop().unwrap();
    assert_eq!(received.load(Ordering::Relaxed) as u64, TOTAL);
    assert_eq!(reports[0].role_name, "composite[source,sink]");
    assert_eq!(reports[0].work_count, 2 * TOTAL);
}

struct Panicker;

impl Agent for Panicker {
    fn role_name(&self) -> &str {
        "panicker"
    }
    fn do_work(&mut self) -> usize {
        panic!("agent bug")
    }
}

#[test]
fn a_panicking_agent_is_reported_by_thread_name() {
    let cores = Cores::detect();
    let runner =
        Runner::start(&cores, vec![ThreadSpec::new("doomed", Box::new(Panicker))]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        runner.stop().unwrap_err(),
        RunnerError::AgentPanicked {
            thread: "doomed".into()
        }
    );
}
