//! Several agents sharing one thread.

use crate::Agent;

/// Runs several agents one after another in each duty cycle, on one thread.
///
/// Order them upstream first (the agent that fills a ring before the one that drains it),
/// so that a message can cross several of them within one cycle.
pub struct Composite {
    role_name: String,
    agents: Vec<Box<dyn Agent>>,
}

impl Composite {
    /// Groups `agents`; the composite's name lists theirs, e.g. `composite[risk,matcher]`.
    ///
    /// # Panics
    /// If `agents` is empty: a thread with nothing to run is a configuration mistake the
    /// runner's caller should have caught.
    #[must_use]
    pub fn new(agents: Vec<Box<dyn Agent>>) -> Composite {
        assert!(
            !agents.is_empty(),
            "a composite agent needs at least one agent"
        );
        let names: Vec<&str> = agents.iter().map(|agent| agent.role_name()).collect();
        let role_name = format!("composite[{}]", names.join(","));
        Composite { role_name, agents }
    }

    /// The agents, in duty-cycle order.
    #[must_use]
    pub fn agents(&self) -> &[Box<dyn Agent>] {
        &self.agents
    }
}

impl Agent for Composite {
    fn role_name(&self) -> &str {
        &self.role_name
    }

    fn on_start(&mut self) {
        for agent in &mut self.agents {
            agent.on_start();
        }
    }

    fn do_work(&mut self) -> usize {
        self.agents.iter_mut().map(|agent| agent.do_work()).sum()
    }

    fn has_pending_work(&self) -> bool {
        self.agents.iter().any(|agent| agent.has_pending_work())
    }

    fn close_intake(&mut self) {
        for agent in &mut self.agents {
            agent.close_intake();
        }
    }

    fn on_close(&mut self) {
        // Downstream agents close first, the reverse of start-up.
        for agent in self.agents.iter_mut().rev() {
            agent.on_close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Recorder {
        name: &'static str,
        log: Arc<Mutex<Vec<String>>>,
        work: usize,
    }

    impl Agent for Recorder {
        fn role_name(&self) -> &str {
            self.name
        }
        fn on_start(&mut self) {
            self.log
                .lock()
                .unwrap()
                .push(format!("start {}", self.name));
        }
        fn do_work(&mut self) -> usize {
            self.log.lock().unwrap().push(format!("work {}", self.name));
            self.work
        }
        fn on_close(&mut self) {
            self.log
                .lock()
                .unwrap()
                .push(format!("close {}", self.name));
        }
    }

    #[test]
    fn runs_members_in_order_and_sums_their_work() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorder = |name, work| -> Box<dyn Agent> {
            Box::new(Recorder {
                name,
                log: Arc::clone(&log),
                work,
            })
        };
        let mut composite = Composite::new(vec![recorder("a", 2), recorder("b", 3)]);
        assert_eq!(composite.role_name(), "composite[a,b]");
        composite.on_start();
        assert_eq!(composite.do_work(), 5);
        composite.on_close();
        assert_eq!(
            *log.lock().unwrap(),
            ["start a", "start b", "work a", "work b", "close b", "close a"]
        );
    }
}
