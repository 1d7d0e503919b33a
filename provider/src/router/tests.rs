//! The transaction against a fake back end that fails at a chosen step.

use std::sync::{Arc, Mutex};

use super::*;
use crate::ssh::Secret;

/// A router kept in memory; `fail_at` makes one step fail (after `apply` has done half its work).
struct FakeRouter {
    bgp: Mutex<BgpConfig>,
    fail_at: Option<&'static str>,
    steps: Mutex<Vec<String>>,
    lock: Arc<tokio::sync::Mutex<()>>,
    session_state: &'static str,
}

impl FakeRouter {
    fn new(fail_at: Option<&'static str>) -> FakeRouter {
        FakeRouter {
            bgp: Mutex::new(BgpConfig {
                instances: vec![InstanceConfig {
                    instance: instance(),
                    neighbors: vec![neighbor("10.4.0.11", 64501)],
                }],
            }),
            fail_at,
            steps: Mutex::new(Vec::new()),
            lock: Arc::default(),
            session_state: "Established",
        }
    }

    fn step(&self, name: &str) -> Result<(), RouterError> {
        self.steps.lock().unwrap().push(name.to_owned());
        if self.fail_at == Some(name) {
            Err(RouterError::Refused {
                router: self.router(),
                step: name.to_owned(),
                message: format!("% {name} failed"),
            })
        } else {
            Ok(())
        }
    }

    fn steps(&self) -> Vec<String> {
        self.steps.lock().unwrap().clone()
    }

    fn bgp(&self) -> BgpConfig {
        self.bgp.lock().unwrap().clone()
    }
}

fn instance() -> Instance {
    Instance {
        asn: 64500,
        router_id: None,
        log_neighbor_changes: true,
        ebgp_requires_policy: false,
    }
}

fn neighbor(address: &str, remote_asn: u32) -> Neighbor {
    Neighbor {
        peer: Peer::parse(address).unwrap(),
        remote_asn,
        description: None,
        timers: None,
        ebgp_multihop: None,
        update_source: None,
        enabled: true,
        ipv4_unicast: Ipv4UnicastPolicy::default(),
        has_password: false,
    }
}

#[async_trait]
impl BgpBackend for FakeRouter {
    fn router(&self) -> String {
        "root@router:22".to_owned()
    }

    async fn lock(&self) -> OwnedMutexGuard<()> {
        self.lock.clone().lock_owned().await
    }

    async fn enable_bgp(&self) -> Result<bool, RouterError> {
        Ok(false)
    }

    async fn running_config(&self) -> Result<Snapshot, RouterError> {
        Ok(Snapshot {
            text: String::new(),
            bgp: self.bgp(),
        })
    }

    async fn sessions(&self, _asn: u32) -> Result<Vec<SessionState>, RouterError> {
        Ok(vec![SessionState {
            address: "10.4.0.12".into(),
            remote_asn: 64501,
            state: self.session_state.into(),
            uptime: "never".into(),
            uptime_seconds: 0,
            prefixes_received: 0,
            description: None,
            admin_shutdown: false,
            last_reset: Some("Waiting for peer OPEN".into()),
        }])
    }

    async fn check(&self, _running: &Snapshot, _change: &Change) -> Result<(), RouterError> {
        self.step("check")
    }

    async fn apply(&self, _running: &Snapshot, change: &Change) -> Result<(), RouterError> {
        let mut bgp = self.bgp.lock().unwrap();
        let instance = &mut bgp.instances[0];
        if let Change::SetNeighbor {
            neighbor, password, ..
        } = change
        {
            instance.neighbors.retain(|n| n.peer != neighbor.peer);
            let mut added = neighbor.clone();
            added.has_password = matches!(password, PasswordChange::Set(_));
            if self.fail_at == Some("verify") {
                added.remote_asn += 1;
            }
            instance.neighbors.push(added);
        }
        drop(bgp);
        self.step("apply")
    }

    async fn save(&self, _running: &Snapshot) -> Result<(), RouterError> {
        self.step("save")
    }

    async fn roll_back(&self, previous: &Snapshot, _change: &Change) -> Result<(), RouterError> {
        *self.bgp.lock().unwrap() = previous.bgp.clone();
        self.step("roll_back")
    }
}

fn add(address: &str) -> Change {
    Change::SetNeighbor {
        asn: 64500,
        neighbor: neighbor(address, 64501),
        password: PasswordChange::Set(Secret::new("pw")),
        create: true,
    }
}

fn run(
    router: &FakeRouter,
    change: &Change,
    wait: Option<WaitForEstablished>,
) -> Result<BgpConfig, RouterError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(apply_change(router, change, wait))
}

#[test]
fn a_change_is_checked_applied_verified_and_saved() {
    let router = FakeRouter::new(None);
    let after = run(&router, &add("10.4.0.12"), None).unwrap();
    assert_eq!(router.steps(), ["check", "apply", "save"]);
    let added = after.instances[0]
        .neighbor(&Peer::parse("10.4.0.12").unwrap())
        .unwrap();
    assert!(added.has_password);
}

#[test]
fn a_refused_check_changes_nothing() {
    let router = FakeRouter::new(Some("check"));
    let before = router.bgp();
    let error = run(&router, &add("10.4.0.12"), None).unwrap_err();
    assert!(matches!(error, RouterError::Refused { .. }), "{error}");
    assert!(error.to_string().contains("% check failed"));
    assert_eq!(router.steps(), ["check"]);
    assert_eq!(router.bgp(), before);
}

#[test]
fn a_failure_after_the_check_is_rolled_back_and_says_so() {
    for (step, expected, restored) in [
        ("apply", &["check", "apply", "roll_back"][..], true),
        ("verify", &["check", "apply", "roll_back"][..], true),
        // The save is tried again after the rollback; here it fails again, and says so.
        (
            "save",
            &["check", "apply", "save", "roll_back", "save"][..],
            false,
        ),
    ] {
        let router = FakeRouter::new(Some(step));
        let before = router.bgp();
        let error = run(&router, &add("10.4.0.12"), None).unwrap_err();
        assert_eq!(router.steps(), expected, "{step}");
        assert_eq!(router.bgp(), before, "{step}: the router is as it was");
        let text = error.to_string();
        if restored {
            assert!(
                matches!(error, RouterError::RolledBack { .. }),
                "{step}: {text}"
            );
            assert!(text.contains("The change was rolled back"), "{text}");
        } else {
            assert!(
                matches!(error, RouterError::RollbackFailed { .. }),
                "{step}: {text}"
            );
            assert!(
                text.contains("Restoring the previous configuration"),
                "{text}"
            );
        }
        assert!(
            !format!("{error:?}").contains("\"pw\""),
            "no secret in the error"
        );
    }
}

#[test]
fn a_session_that_does_not_come_up_rolls_the_change_back() {
    let mut router = FakeRouter::new(None);
    router.session_state = "Active";
    let before = router.bgp();
    let wait = WaitForEstablished {
        address: "10.4.0.12".parse().unwrap(),
        timeout: Duration::from_millis(600),
    };
    let error = run(&router, &add("10.4.0.12"), Some(wait)).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("not Established within 600ms"), "{text}");
    assert!(
        text.contains("Active; last reset: Waiting for peer OPEN"),
        "{text}"
    );
    assert!(text.contains("rolled back"), "{text}");
    assert_eq!(router.bgp(), before);

    let router = FakeRouter::new(None);
    run(&router, &add("10.4.0.12"), Some(wait)).expect("an Established session passes");
}

#[test]
fn neighbors_need_their_instance_and_creating_one_twice_is_refused() {
    let router = FakeRouter::new(None);
    let Change::SetNeighbor {
        neighbor, password, ..
    } = add("10.4.0.12")
    else {
        unreachable!()
    };
    let elsewhere = Change::SetNeighbor {
        asn: 65000,
        neighbor: neighbor.clone(),
        password: password.clone(),
        create: true,
    };
    let error = run(&router, &elsewhere, None).unwrap_err();
    assert!(
        error.to_string().contains("no BGP instance with AS 65000"),
        "{error}"
    );
    let error = run(&router, &add("10.4.0.11"), None).unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");
    assert!(error.to_string().contains("HOST:10.4.0.11"), "{error}");
    assert!(router.steps().is_empty(), "nothing was tried");
}

#[test]
fn a_change_already_in_place_does_nothing() {
    let router = FakeRouter::new(None);
    let same = Change::SetNeighbor {
        asn: 64500,
        neighbor: neighbor("10.4.0.11", 64501),
        password: PasswordChange::Keep,
        create: false,
    };
    run(&router, &same, None).unwrap();
    let gone = Change::RemoveNeighbor {
        asn: 64500,
        peer: Peer::parse("10.4.0.99").unwrap(),
    };
    run(&router, &gone, None).unwrap();
    assert!(router.steps().is_empty());
}
